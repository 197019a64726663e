# Banner reference on a raked and on a stratified design (tests/test_tables.py):
# for every cell, the weighted percentage (or mean) and its linearised SE; for every pair of
# columns of one banner variable and every row category, the difference, its SE and the
# two-sided t-test p-value behind the significance letters (t = d / SE(d) on degf(design)
# df, as banner's notes state), plus the Holm-adjusted p-values over the pairs of one row
# category (p.adjust). Each cell is a ratio of two totals; each difference a smooth function
# of four totals, so svytotal + svycontrast (delta method) give the same linearisation as
# svyby(svymean) -- svyby(covmat = TRUE) fails on raked designs in survey 4.1.
# Cases:
#   england_raked: q_pact with "Don't know" excluded from the base and a net
#     "Any change" = Increase + Decrease; trust (numeric, missing for id %% 17 == 0);
#     banner age_group (7 columns), design raked to 5 margins.
#   apistrat: awards and api00 by stype and sch.wide on the stratified apistrat design (fpc).
# Logit CIs (svyciprop, df of each domain's subset) of the q_pact cells are written too.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
data(api)
vals <- new_values()

df <- read.csv(data_path("england_like.csv"), stringsAsFactors = FALSE)
tg <- read.csv(data_path("england_like_targets.csv"), stringsAsFactors = FALSE)
df$trust[df$id %% 17 == 0] <- NA
n <- nrow(df)
lv <- list(
  sex = c("Female", "Male"),
  age_group = c("18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"),
  region = c("North East", "North West", "Yorkshire and The Humber", "East Midlands",
             "West Midlands", "East of England", "London", "South East", "South West"),
  education = c("No qualifications", "Level 1 and entry level qualifications",
                "Level 2 qualifications", "Apprenticeship", "Level 3 qualifications",
                "Level 4 qualifications and above", "Other qualifications"),
  ethnicity = c("White", "Asian/Asian British", "Black/Black British/Caribbean/African",
                "Mixed/Multiple", "Other ethnic group"))
for (v in names(lv)) df[[v]] <- factor(df[[v]], levels = lv[[v]])

# indicator columns: y_<row>_<cat>_<col> (numerator) and b_<row>_<col> (base) per column
add_banner_columns <- function(data, case, row, cats, nets, numeric, bvar, levs) {
  spec <- list()
  for (k in seq_along(levs)) {
    inb <- data[[bvar]] == levs[k]
    if (numeric) {
      ok <- !is.na(data[[row]])
      data[[sprintf("b_%s_%s_%d", row, bvar, k)]] <- 1 * (inb & ok)
      data[[sprintf("y_%s_%s_%d_1", row, bvar, k)]] <- ifelse(inb & ok, data[[row]], 0)
    } else {
      ok <- data[[row]] %in% cats
      data[[sprintf("b_%s_%s_%d", row, bvar, k)]] <- 1 * (inb & ok)
      allc <- c(as.list(cats), nets)
      for (j in seq_along(allc)) {
        data[[sprintf("y_%s_%s_%d_%d", row, bvar, k, j)]] <- 1 * (inb & data[[row]] %in% allc[[j]])
      }
    }
  }
  data
}

banner_values <- function(vals, case, d, row, labels, bvar, levs) {
  L <- length(labels)
  K <- length(levs)
  ynames <- outer(seq_len(K), seq_len(L), function(k, j) sprintf("y_%s_%s_%d_%d", row, bvar, k, j))
  bnames <- sprintf("b_%s_%s_%d", row, bvar, seq_len(K))
  tt <- svytotal(as.formula(paste("~", paste(c(ynames, bnames), collapse = "+"))), d)
  cell <- list()
  for (k in seq_len(K)) for (j in seq_len(L))
    cell[[sprintf("%d_%d", k, j)]] <- parse(text = sprintf("%s / %s", ynames[k, j], bnames[k]))[[1]]
  for (j in seq_len(L))  # Total column: pooled over the banner's columns
    cell[[sprintf("0_%d", j)]] <- parse(text = sprintf("(%s) / (%s)",
      paste(ynames[, j], collapse = " + "), paste(bnames, collapse = " + ")))[[1]]
  ct <- svycontrast(tt, cell)
  for (nm in names(cell)) {
    kj <- as.integer(strsplit(nm, "_")[[1]])
    col <- if (kj[1] == 0) "Total" else levs[kj[1]]
    vals <- add(vals, case, "banner_cell", "estimate", coef(ct)[nm], variable = row,
                domain = paste(bvar, col, sep = ":"), category = labels[kj[2]])
    vals <- add(vals, case, "banner_cell", "se", SE(ct)[nm], variable = row,
                domain = paste(bvar, col, sep = ":"), category = labels[kj[2]])
  }
  for (j in seq_len(L)) {
    pairs <- list()
    for (a in 1:(K - 1)) for (b in (a + 1):K)
      pairs[[sprintf("%d_%d", a, b)]] <- parse(text = sprintf("%s / %s - %s / %s",
        ynames[a, j], bnames[a], ynames[b, j], bnames[b]))[[1]]
    ct <- svycontrast(tt, pairs)
    t <- coef(ct) / SE(ct)
    p <- 2 * pt(-abs(t), degf(d))
    ph <- p.adjust(p, "holm")
    for (i in seq_along(pairs)) {
      ab <- as.integer(strsplit(names(pairs)[i], "_")[[1]])
      dom <- paste(bvar, levs[ab[1]], levs[ab[2]], sep = ":")
      vals <- add(vals, case, "banner_pair", "estimate", coef(ct)[i], variable = row,
                  domain = dom, category = labels[j])
      vals <- add(vals, case, "banner_pair", "se", SE(ct)[i], variable = row, domain = dom,
                  category = labels[j])
      vals <- add(vals, case, "banner_pair", "p_value", p[i], variable = row, domain = dom,
                  category = labels[j])
      vals <- add(vals, case, "banner_pair", "p_holm", ph[i], variable = row, domain = dom,
                  category = labels[j])
    }
  }
  vals
}

# ---------------------------------------------------------------- england raked
q_cats <- c("Increase confidence", "No impact", "Decrease confidence")
q_nets <- list(c("Increase confidence", "Decrease confidence"))
agel <- lv$age_group
df <- add_banner_columns(df, "england_raked", "q_pact", q_cats, q_nets, FALSE, "age_group", agel)
df <- add_banner_columns(df, "england_raked", "trust", NULL, list(), TRUE, "age_group", agel)
d0 <- svydesign(ids = ~1, weights = ~rep(1, n), data = df)
margins <- lapply(names(lv), function(v) {
  t <- tg[tg$variable == v, ]
  m <- data.frame(t$category, t$target * n); names(m) <- c(v, "Freq"); m })
eng <- rake(d0, lapply(names(lv), function(v) as.formula(paste0("~", v))), margins,
            control = CONTROL)
vals <- banner_values(vals, "banner_england_raked", eng, "q_pact", c(q_cats, "Any change"),
                      "age_group", agel)
vals <- banner_values(vals, "banner_england_raked", eng, "trust", "trust", "age_group", agel)
vals <- add(vals, "banner_england_raked", "degf", "df", degf(eng))
# logit CIs of the q_pact cells: svyciprop on the base (Don't know excluded), by age group
base <- subset(eng, q_pact != "Don't know")
for (cat in q_cats) {
  r <- svyby(as.formula(sprintf("~I(q_pact == '%s')", cat)), ~age_group, base, svyciprop,
             method = "logit", vartype = "ci")
  for (k in seq_along(agel)) {
    dom <- paste("age_group", agel[k], sep = ":")
    vals <- add(vals, "banner_england_raked", "banner_cell", "ci_lower", r$ci_l[k],
                variable = "q_pact", domain = dom, category = cat)
    vals <- add(vals, "banner_england_raked", "banner_cell", "ci_upper", r$ci_u[k],
                variable = "q_pact", domain = dom, category = cat)
  }
}

# ---------------------------------------------------------------- apistrat (stratified)
st <- apistrat
for (bv in list(list("stype", c("E", "H", "M")), list("sch.wide", c("No", "Yes")))) {
  st <- add_banner_columns(st, "apistrat", "awards", c("No", "Yes"), list(), FALSE, bv[[1]], bv[[2]])
  st <- add_banner_columns(st, "apistrat", "api00", NULL, list(), TRUE, bv[[1]], bv[[2]])
}
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = st, fpc = ~fpc)
for (bv in list(list("stype", c("E", "H", "M")), list("sch.wide", c("No", "Yes")))) {
  vals <- banner_values(vals, "banner_apistrat", dstrat, "awards", c("No", "Yes"), bv[[1]], bv[[2]])
  vals <- banner_values(vals, "banner_apistrat", dstrat, "api00", "api00", bv[[1]], bv[[2]])
}
vals <- add(vals, "banner_apistrat", "degf", "df", degf(dstrat))
write_values(vals, "banner_extra.csv")
