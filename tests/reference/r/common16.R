# Designs shared by the issue #16 reference scripts (glm.R, olr.R, quantile.R, ratio.R,
# svyvar.R, calibrate_numeric.R, brr.R, multistage.R). Sourced after common.R; not a topic
# of its own (make_reference.R skips it). Deterministic: the only random step (bootstrap
# replicate weights) is seeded, and every replicate design is rebuilt from the CSV it writes,
# so the Python side reads exactly the weights R used.
# Spec: tests/reference/SPEC_16.md.
data(api)

# ---------------------------------------------------------------- linearised designs
# enroll banded (the same breaks for sample and population); population counts of the bands
# from apipop with its 37 missing enroll values spread pro rata (so every margin sums to 6194)
ENROLL_BREAKS <- c(0, 350, 500, 750, Inf)
ENROLL_LABELS <- c("<350", "350-499", "500-749", "750+")
band_enroll <- function(x) factor(cut(x, ENROLL_BREAKS, right = FALSE, labels = ENROLL_LABELS),
                                  levels = ENROLL_LABELS)
pop_band <- table(band_enroll(apipop$enroll))
pop_band <- as.vector(pop_band) * 6194 / sum(pop_band)
POP_ENROLL_BAND <- data.frame(enroll_band = ENROLL_LABELS, Freq = pop_band)
POP_STYPE <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
POP_SCHWIDE <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
# a numeric population total for calibration: total enrolment over apipop's non-missing values
POP_ENROLL_TOTAL <- sum(apipop$enroll, na.rm = TRUE)

# API bands of api00 as an ordered factor (for svyolr)
API_BREAKS <- c(-Inf, 550, 650, 750, Inf)
API_LABELS <- c("low", "mid", "high", "top")
band_api <- function(x) factor(cut(x, API_BREAKS, right = FALSE, labels = API_LABELS),
                               levels = API_LABELS, ordered = TRUE)

add_api_vars <- function(df) {
  df$enroll_band <- band_enroll(df$enroll)
  df$api_band <- band_api(df$api00)
  df$sw <- as.integer(df$sch.wide == "Yes")   # 0/1 outcome for logistic models
  df$stype <- factor(df$stype, levels = c("E", "H", "M"))
  df
}
apistrat16 <- add_api_vars(apistrat)
apiclus1_16 <- add_api_vars(apiclus1)
write_data(apistrat16, "apistrat16.csv")
write_data(apiclus1_16, "apiclus1_16.csv")
# apistrat: stratified SRS by school type with fpc
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat16, fpc = ~fpc)
# apiclus1: one-stage cluster sample of 15 districts with fpc
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1_16, fpc = ~fpc)

# raked apistrat: stype, sch.wide and the enroll bands (raking-aware SEs)
rstrat <- rake(dstrat, list(~stype, ~sch.wide, ~enroll_band),
               list(POP_STYPE, POP_SCHWIDE, POP_ENROLL_BAND), control = CONTROL)

# England-like sample (written by weighting.R) raked to its five margins, as estimation.R
eng_df <- read.csv(data_path("england_like.csv"), stringsAsFactors = FALSE)
eng_tg <- read.csv(data_path("england_like_targets.csv"), stringsAsFactors = FALSE)
ENG_LEVELS <- list(
  sex = c("Female", "Male"),
  age_group = c("18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"),
  region = c("North East", "North West", "Yorkshire and The Humber", "East Midlands",
             "West Midlands", "East of England", "London", "South East", "South West"),
  education = c("No qualifications", "Level 1 and entry level qualifications",
                "Level 2 qualifications", "Apprenticeship", "Level 3 qualifications",
                "Level 4 qualifications and above", "Other qualifications"),
  ethnicity = c("White", "Asian/Asian British", "Black/Black British/Caribbean/African",
                "Mixed/Multiple", "Other ethnic group"),
  q_pact = c("Increase confidence", "No impact", "Decrease confidence", "Don't know")
)
for (v in names(ENG_LEVELS)) eng_df[[v]] <- factor(eng_df[[v]], levels = ENG_LEVELS[[v]])
eng_df$pact_up <- as.integer(eng_df$q_pact == "Increase confidence")
# trust 0-10 banded as an ordered factor (for svyolr)
eng_df$trust_band <- factor(cut(eng_df$trust, c(-Inf, 3, 5, 7, Inf), right = TRUE,
                                labels = c("0-3", "4-5", "6-7", "8-10")),
                            levels = c("0-3", "4-5", "6-7", "8-10"), ordered = TRUE)
eng_n <- nrow(eng_df)
eng0 <- svydesign(ids = ~1, weights = ~rep(1, eng_n), data = eng_df)
eng_margins <- lapply(names(ENG_LEVELS)[1:5], function(v) {
  t <- eng_tg[eng_tg$variable == v, ]
  m <- data.frame(t$category, t$target * eng_n); names(m) <- c(v, "Freq"); m })
eng <- rake(eng0, lapply(names(ENG_LEVELS)[1:5], function(v) as.formula(paste0("~", v))),
            eng_margins, control = CONTROL)

# apiclus2: two-stage cluster sample (districts, then schools) with fpc at both stages
apiclus2_16 <- apiclus2
apiclus2_16$stype <- factor(apiclus2_16$stype, levels = c("E", "H", "M"))
write_data(apiclus2_16, "apiclus2.csv")
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2_16)

# ---------------------------------------------------------------- replicate designs
write_repweights16 <- function(d, name) {
  rw <- weights(d, "analysis")
  out <- data.frame(row = seq_len(nrow(rw)))
  for (j in seq_len(ncol(rw))) out[[paste0("rep", j)]] <- sprintf("%.17g", rw[, j])
  write.csv(out, data_path(name), row.names = FALSE, quote = FALSE)
}
read_repdesign16 <- function(data, name, type, scale, rscales, pw) {
  rw <- read.csv(data_path(name))
  rw <- as.matrix(rw[, -1])
  svrepdesign(data = data, repweights = rw, weights = pw, type = type, scale = scale,
              rscales = rscales, combined.weights = TRUE, mse = FALSE)
}

# JK1 of apiclus1 (with its fpc), rebuilt from the committed CSV
jk1_r <- as.svrepdesign(dclus1, type = "JK1")
write_repweights16(jk1_r, "apiclus1_jk1_16_repweights.csv")
JK1_SCALE <- jk1_r$scale
JK1_RSCALES <- jk1_r$rscales
jk1 <- read_repdesign16(apiclus1_16, "apiclus1_jk1_16_repweights.csv", "JK1", JK1_SCALE,
                        JK1_RSCALES, apiclus1_16$pw)

# 50 bootstrap replicates of apiclus1 (seeded), rebuilt from the committed CSV
set.seed(16016)
boot_r <- as.svrepdesign(dclus1, type = "bootstrap", replicates = 50)
write_repweights16(boot_r, "apiclus1_boot16_repweights.csv")
BOOT_SCALE <- boot_r$scale
BOOT_RSCALES <- boot_r$rscales
boot <- read_repdesign16(apiclus1_16, "apiclus1_boot16_repweights.csv", "bootstrap",
                         BOOT_SCALE, BOOT_RSCALES, apiclus1_16$pw)

# the design facts every topic records once per replicate design
add_rep_facts <- function(vals, case, d) {
  vals <- add(vals, case, "design", "scale", d$scale)
  vals <- add(vals, case, "design", "rscales_unique", unique(d$rscales))
  vals <- add(vals, case, "design", "n_replicates", ncol(weights(d, "analysis")))
  vals <- add(vals, case, "degf", "df", degf(d))
  vals
}

# named list used by the topics: name -> design
LIN_DESIGNS <- list(apistrat = dstrat, apiclus1 = dclus1, apistrat_raked = rstrat)
REP_DESIGNS <- list(apiclus1_jk1 = jk1, apiclus1_boot = boot)

# Domain means (or ratios) of several variables with their joint covariance, through one
# svyratio(covmat = TRUE) on domain-indicator columns: numerator v * 1[domain], denominator
# den * 1[domain]. Equal to svyby(..., covmat = TRUE) where that works (checked in svyvar.R);
# needed because svyby(covmat = TRUE) fails in survey 4.1.1 on post-stratified, raked or
# calibrated linearised designs (their subsets keep all rows, so the influence matrices do not
# fit). Order: variable-major, as svyby ("E:api00", "H:api00", ..., "E:api99", ...).
joint_domain_ratios <- function(d, vars, by, den = NULL) {
  df <- model.frame(d)
  lv <- levels(factor(df[[by]]))
  dv <- if (is.null(den)) rep(1, nrow(df)) else df[[den]]
  num <- do.call(cbind, lapply(vars, function(v) sapply(lv, function(l) df[[v]] * (df[[by]] == l))))
  dd <- sapply(lv, function(l) dv * (df[[by]] == l))
  colnames(num) <- as.vector(outer(lv, vars, paste, sep = ":"))
  colnames(dd) <- lv
  r <- svyratio(num, dd, d, covmat = TRUE)
  nn <- ncol(num)
  pick <- (rep(seq_along(lv), length(vars)) - 1) * nn + seq_len(nn)
  V <- r$vcov[pick, pick]
  dimnames(V) <- list(colnames(num), colnames(num))
  list(est = as.vector(r$ratio)[pick], V = V, names = colnames(num))
}

# Missing values in model variables (glm.R, olr.R): ell_na and stype_na are ell and stype
# with NA in fixed rows (1-based). apistrat: ell in rows 3, 50, 120, 180, stype in rows 7, 60;
# apiclus1: ell in every row of the first district in the data (a whole PSU leaves the fit)
# and stype in rows 20, 90.
na_cols <- function(d, ell_rows, stype_rows) {
  ell_na <- model.frame(d)$ell
  ell_na[ell_rows] <- NA
  stype_na <- model.frame(d)$stype
  stype_na[stype_rows] <- NA
  update(d, ell_na = ell_na, stype_na = stype_na)
}
na_strat <- function(d) na_cols(d, c(3, 50, 120, 180), c(7, 60))
na_clus <- function(d) na_cols(d, which(apiclus1_16$dnum == apiclus1_16$dnum[1]), c(20, 90))

# Case names in the values files are distinct from the older topics' (estimation.R,
# replicates.R, ...), which share tests/conftest.py's lookup: every #16 design gets "16" in
# its name (apistrat -> apistrat16, apiclus1_jk1 -> apiclus1_16_jk1, england_raked ->
# england16_raked, ...). The scripts use the short names; these two write them renamed.
rename_case16 <- function(x) {
  x <- sub("^apiclus1_jk1", "apiclus1_16_jk1", x)
  x <- sub("^apiclus1_boot", "apiclus1_16_boot", x)
  x <- sub("^apiclus1($|_cal)", "apiclus1_16\\1", x)
  x <- sub("^apistrat($|_raked|_cal)", "apistrat16\\1", x)
  x <- sub("^apiclus2", "apiclus2_16", x)
  x <- sub("^england_", "england16_", x)
  x
}
write_values16 <- function(vals, name) {
  vals$case <- rename_case16(vals$case)
  write_values(vals, name)
}
write_weights16 <- function(design, case) write_weights(design, rename_case16(case))
