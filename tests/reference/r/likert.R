# Likert grid reference (tests/test_grid.py): a battery of three statements s1..s3 on a
# 1-5 scale (6 = "Don't know", excluded from the base; some answers missing), added to the
# england_like data and written to data/likert_battery.csv; design raked to five margins
# as in banner_extra.R. For every statement (and by sex): the shares of the top box (4, 5)
# and bottom box (1, 2), the net score (top minus bottom) and the mean score, with their
# linearised SEs, from svytotal of the numerators and bases and svycontrast (delta method:
# each a ratio of totals, as a domain mean); the net-score differences between every pair
# of statements and between the two sexes, with SEs and two-sided t p-values on degf. As an
# independent route the net score of s1 is also svymean(~I(top) - I(bottom)) on the subset
# of valid answers.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
vals <- new_values()
df <- read.csv(data_path("england_like.csv"), stringsAsFactors = FALSE)
tg <- read.csv(data_path("england_like_targets.csv"), stringsAsFactors = FALSE)
n <- nrow(df)
set.seed(14)
probs <- list(c(2, 3, 4, 6, 4, 1), c(4, 4, 3, 3, 2, 1), c(1, 2, 3, 5, 7, 2))
for (s in 1:3) {
  x <- sample(1:6, n, replace = TRUE, prob = probs[[s]])
  x[sample.int(n, 40 + 10 * s)] <- NA
  df[[paste0("s", s)]] <- x
}
write_data(df[, c("id", "sex", "age_group", "region", "education", "ethnicity",
                  "s1", "s2", "s3")], "likert_battery.csv")
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
groups <- list(Total = rep(TRUE, n), Female = df$sex == "Female", Male = df$sex == "Male")
fml <- c()
for (s in 1:3) {
  x <- df[[paste0("s", s)]]
  ok <- !is.na(x) & x %in% 1:5
  for (g in names(groups)) {
    inn <- ok & groups[[g]]
    df[[sprintf("N_%d_%s", s, g)]] <- 1 * inn
    df[[sprintf("A_%d_%s", s, g)]] <- 1 * (inn & x %in% 4:5)
    df[[sprintf("B_%d_%s", s, g)]] <- 1 * (inn & x %in% 1:2)
    df[[sprintf("T_%d_%s", s, g)]] <- 1 * (inn & x %in% 4:5) - 1 * (inn & x %in% 1:2)
    df[[sprintf("M_%d_%s", s, g)]] <- ifelse(inn, x, 0)
    fml <- c(fml, sprintf("%s_%d_%s", c("N", "A", "B", "T", "M"), s, g))
  }
}
d0 <- svydesign(ids = ~1, weights = ~rep(1, n), data = df)
margins <- lapply(names(lv), function(v) {
  t <- tg[tg$variable == v, ]
  m <- data.frame(t$category, t$target * n); names(m) <- c(v, "Freq"); m })
eng <- rake(d0, lapply(names(lv), function(v) as.formula(paste0("~", v))), margins,
            control = CONTROL)
tot <- svytotal(as.formula(paste("~", paste(fml, collapse = "+"))), eng)
ratio <- function(num, s, g) parse(text = sprintf("%s_%d_%s / N_%d_%s", num, s, g, s, g))[[1]]
qty <- c(top = "A", bottom = "B", net_score = "T", mean_score = "M")
for (s in 1:3) for (g in names(groups)) for (q in names(qty)) {
  cc <- svycontrast(tot, list(x = ratio(qty[[q]], s, g)))
  vals <- add(vals, "likert", "grid_cell", "estimate", coef(cc), variable = paste0("s", s),
              domain = g, category = q)
  vals <- add(vals, "likert", "grid_cell", "se", SE(cc), variable = paste0("s", s),
              domain = g, category = q)
}
pair_p <- function(cc) 2 * pt(-abs(coef(cc) / SE(cc)), degf(eng))
for (q in c("net_score", "top", "mean_score")) {
  for (pr in list(c(1, 2), c(1, 3), c(2, 3))) {
    e <- substitute(a - b, list(a = ratio(qty[[q]], pr[1], "Total"),
                                b = ratio(qty[[q]], pr[2], "Total")))
    cc <- svycontrast(tot, list(d = e))
    for (k in c("estimate", "se", "p_value")) {
      v <- switch(k, estimate = coef(cc), se = SE(cc), p_value = pair_p(cc))
      vals <- add(vals, "likert", "grid_pair", k, v, variable = sprintf("s%d-s%d", pr[1], pr[2]),
                  category = q)
    }
  }
  for (s in 1:3) {
    e <- substitute(a - b, list(a = ratio(qty[[q]], s, "Female"), b = ratio(qty[[q]], s, "Male")))
    cc <- svycontrast(tot, list(d = e))
    for (k in c("estimate", "se", "p_value")) {
      v <- switch(k, estimate = coef(cc), se = SE(cc), p_value = pair_p(cc))
      vals <- add(vals, "likert", "grid_sex", k, v, variable = paste0("s", s), category = q)
    }
  }
}
# independent route: svymean of the indicator difference on the subset of valid answers
sub <- subset(eng, !is.na(s1) & s1 %in% 1:5)
m <- svymean(~I(1 * (s1 %in% 4:5) - 1 * (s1 %in% 1:2)), sub)
vals <- add(vals, "likert", "svymean_net", "estimate", coef(m), variable = "s1")
vals <- add(vals, "likert", "svymean_net", "se", SE(m), variable = "s1")
vals <- add(vals, "likert", "degf", "df", degf(eng))
write_values(vals, "likert.csv")
