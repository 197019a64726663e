# Issue #17 reference: tracking across cohorts. The two SYNTHETIC example cohorts
# (data/example: Cohort 1 tier3.csv / tier1.csv, Cohort 2 cohort2_tier3_synthetic.csv /
# cohort2_tier1_synthetic.csv) stacked as R stacks independent samples: rbind with the cohort
# as stratum, raked on cohort-by-variable margins (each cohort to the ONS shares times its own
# n, as delibpoll's rake with total = sum of starting weights), svyby by cohort with
# covmat = TRUE, svycontrast for Cohort 2 - Cohort 1, p-values on degf(stacked design), and
# p.adjust over the family of all differences. Tier 1: the cohorts' Tier 1 stacked with the
# cohort as stratum and discussion groups as PSUs; the per-person change of each category's
# indicator (and of trust) by cohort, and its svycontrast. Gaps: Tier 1 after minus Tier 3
# per cohort; the gap difference's SE is the square root of the four independent variances.
# Writes tests/reference/values/cohorts.csv.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
vals <- new_values()
top <- if (file.exists("data/example")) "data" else "../../data"
ex <- function(f) read.csv(file.path(top, "example", f), stringsAsFactors = FALSE)
cohorts <- c("Cohort 1", "Cohort 2")
PACT <- c("Increase confidence", "No impact", "Decrease confidence", "Don't know")
CHARGE <- c("Right", "Wrong", "Don't know")
vars <- c("sex", "age_group", "region", "education", "ethnicity")
tg <- read.csv(file.path(top, "population", "england_adult_targets.csv"), stringsAsFactors = FALSE)

# ---------------------------------------------------------------- Tier 3, stacked and raked
t3 <- list(ex("tier3.csv"), ex("cohort2_tier3_synthetic.csv"))
keep <- c(vars, "q_pact", "q_charge", "trust_nhs")
st <- do.call(rbind, lapply(1:2, function(i) cbind(cohort = cohorts[i], t3[[i]][keep])))
st$q_pact <- factor(st$q_pact, levels = PACT)
st$q_charge <- factor(st$q_charge, levels = CHARGE)
n_c <- table(st$cohort)
d0 <- svydesign(ids = ~1, strata = ~cohort, data = st)
margins <- lapply(vars, function(v) {
  t <- tg[tg$variable == v, ]
  m <- data.frame(rep(cohorts, each = nrow(t)), rep(t$category, 2),
                  as.vector(outer(t$target, as.numeric(n_c[cohorts]))))
  names(m) <- c("cohort", v, "Freq")
  m
})
formulas <- lapply(vars, function(v) as.formula(paste("~cohort +", v)))
des <- rake(d0, formulas, margins, control = CONTROL)
vals <- add(vals, "cohorts_tier3", "degf", "df", degf(des))

# svyby(covmat = TRUE) fails on this raked design in survey 4.1.1 (inflmats replacement
# error), so the by-cohort estimates and their joint covariance come from svyratio(covmat =
# TRUE): numerators y * 1[cohort k] (answers present), denominators 1[cohort k] (answers
# present) - the same domain estimates, the full covariance matrix for svycontrast.
cohort_ratio <- function(des, y, ok) {
  dd <- des
  for (k in 1:2) {
    inc <- as.numeric(dd$variables$cohort == cohorts[k] & ok)
    dd$variables[[paste0("num", k)]] <- ifelse(inc == 1, y, 0)
    dd$variables[[paste0("den", k)]] <- inc
  }
  svyratio(~num1 + num2, ~den1 + den2, dd, covmat = TRUE)
}
family <- list()
for (q in c("q_pact", "q_charge", "trust_nhs")) {
  cats <- if (q == "q_pact") PACT else if (q == "q_charge") CHARGE else ""
  x <- des$variables[[q]]
  for (k in seq_along(cats)) {
    ok <- !is.na(x)
    y <- if (q == "trust_nhs") x else as.numeric(x == cats[k])
    r <- cohort_ratio(des, y, ok)
    est <- coef(r); V <- vcov(r)
    nm <- c("num1/den1", "num2/den2")
    for (j in 1:2) {
      vals <- add(vals, "cohorts_tier3", q, "estimate", est[nm[j]], domain = cohorts[j], category = cats[k])
      vals <- add(vals, "cohorts_tier3", q, "se", sqrt(V[nm[j], nm[j]]), domain = cohorts[j],
                  category = cats[k])
    }
    w <- setNames(rep(0, length(est)), names(est)); w[nm[1]] <- -1; w[nm[2]] <- 1
    con <- svycontrast(r, w)
    d <- coef(con); se <- SE(con)
    p <- 2 * pt(-abs(d / se), degf(des))
    vals <- add(vals, "cohorts_tier3_diff", q, "difference", d, category = cats[k])
    vals <- add(vals, "cohorts_tier3_diff", q, "se", se, category = cats[k])
    vals <- add(vals, "cohorts_tier3_diff", q, "p_value", p, category = cats[k])
    vals <- add(vals, "cohorts_tier3_diff", q, "covariance_across_cohorts", V[nm[1], nm[2]],
                category = cats[k])
    family[[length(family) + 1]] <- p
  }
}
p <- unlist(family)
for (m in c("holm", "bonferroni", "BH")) {
  vals <- add(vals, "cohorts_tier3_family", "p.adjust", "p_adjusted", p.adjust(p, m), method = m,
              category = as.character(seq_along(p)))
}

# ---------------------------------------------------------------- Tier 1, stacked
t1 <- list(ex("tier1.csv"), ex("cohort2_tier1_synthetic.csv"))
keep1 <- c("group_id", "q_pact_pre", "q_pact_post", "trust_nhs_pre", "trust_nhs_post")
s1 <- do.call(rbind, lapply(1:2, function(i) cbind(cohort = cohorts[i], t1[[i]][keep1])))
dnames <- paste0("d", seq_along(PACT))
for (k in seq_along(PACT)) {
  s1[[dnames[k]]] <- (s1$q_pact_post == PACT[k]) - (s1$q_pact_pre == PACT[k])
  s1[[paste0("post", k)]] <- as.numeric(s1$q_pact_post == PACT[k])
}
s1$trust_change <- s1$trust_nhs_post - s1$trust_nhs_pre
des1 <- svydesign(ids = ~group_id, strata = ~cohort, nest = TRUE, data = s1)
vals <- add(vals, "cohorts_tier1", "degf", "df", degf(des1))
b1 <- svyby(as.formula(paste("~", paste(dnames, collapse = "+"))), ~cohort, des1, svymean,
            covmat = TRUE)
for (k in seq_along(PACT)) {
  w <- setNames(rep(0, length(coef(b1))), names(coef(b1)))
  w[paste0("Cohort 1:", dnames[k])] <- -1; w[paste0("Cohort 2:", dnames[k])] <- 1
  con <- svycontrast(b1, w)
  vals <- add(vals, "cohorts_tier1_diff", "q_pact", "difference", coef(con), category = PACT[k])
  vals <- add(vals, "cohorts_tier1_diff", "q_pact", "se", SE(con), category = PACT[k])
  vals <- add(vals, "cohorts_tier1_diff", "q_pact", "p_value",
              2 * pt(-abs(coef(con) / SE(con)), degf(des1)), category = PACT[k])
}
sub1 <- subset(des1, !is.na(trust_change))
bt <- svyby(~trust_change, ~cohort, sub1, svymean, covmat = TRUE)
con <- svycontrast(bt, c(-1, 1))
vals <- add(vals, "cohorts_tier1_diff", "trust_nhs", "difference", coef(con))
vals <- add(vals, "cohorts_tier1_diff", "trust_nhs", "se", SE(con))
vals <- add(vals, "cohorts_tier1_diff", "trust_nhs", "df", degf(sub1))

# ---------------------------------------------------------------- gaps: Tier 1 after - Tier 3
bp <- svyby(as.formula(paste("~", paste(paste0("post", seq_along(PACT)), collapse = "+"))),
            ~cohort, des1, svymean, covmat = TRUE)
t3v <- vals[vals$case == "cohorts_tier3" & vals$statistic == "q_pact", ]
vals3 <- data.frame(domain = t3v$domain[t3v$quantity == "estimate"],
                    estimate = as.numeric(t3v$value[t3v$quantity == "estimate"]),
                    se = as.numeric(t3v$value[t3v$quantity == "se"]))
gap <- list(); gvar <- list()
for (c in cohorts) {
  e1 <- coef(bp)[paste0(c, ":post", seq_along(PACT))]
  v1 <- diag(vcov(bp))[paste0(c, ":post", seq_along(PACT))]
  e3 <- vals3$estimate[vals3$domain == c]
  v3 <- vals3$se[vals3$domain == c]^2
  gap[[c]] <- e1 - e3; gvar[[c]] <- v1 + v3
  vals <- add(vals, "cohorts_gap", "q_pact", "gap", gap[[c]], domain = c, category = PACT)
  vals <- add(vals, "cohorts_gap", "q_pact", "se", sqrt(gvar[[c]]), domain = c, category = PACT)
}
vals <- add(vals, "cohorts_gap_diff", "q_pact", "difference", gap[["Cohort 2"]] - gap[["Cohort 1"]],
            category = PACT)
vals <- add(vals, "cohorts_gap_diff", "q_pact", "se", sqrt(gvar[["Cohort 1"]] + gvar[["Cohort 2"]]),
            category = PACT)
write_values(vals, "cohorts.csv")
