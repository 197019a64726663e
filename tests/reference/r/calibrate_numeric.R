# Issue #16 reference for calibration to numeric totals alongside categorical margins:
# calibrate(design, ~enroll + stype, population = c(N, total enroll, N_H, N_M)) with calfun
# linear, raking and logit (bounds), on apistrat (stratified, fpc), apiclus1 (clustered, fpc)
# and a JK1 design; the England-like sample calibrated to a numeric income total plus sex and
# age margins. Weights (weights_<case>.csv), then svymean/svytotal/svyquantile/svyratio/svyglm
# on the calibrated designs with calibration-aware SEs.
# Writes tests/reference/values/calibrate_numeric.csv. Run from the repository root.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common16.R"))
vals <- new_values()
POP_API <- c(`(Intercept)` = 6194, enroll = POP_ENROLL_TOTAL, stypeH = 755, stypeM = 1018)
vals <- add(vals, "population", "calibrate", "total", POP_API, variable = names(POP_API))

stats_after <- function(vals, case, d) {
  vals <- add(vals, case, "calibrate", "weight_sum", sum(weights(d)))
  t <- svytotal(~enroll, d)
  vals <- add(vals, case, "svytotal", "estimate", coef(t), variable = "enroll")
  vals <- add(vals, case, "svytotal", "se", SE(t), variable = "enroll")
  t <- svytotal(~stype, d)
  vals <- add(vals, case, "svytotal", "estimate", coef(t), variable = "stype",
              category = c("E", "H", "M"))
  vals <- add(vals, case, "svytotal", "se", SE(t), variable = "stype",
              category = c("E", "H", "M"))
  for (v in c("api00", "api.stu")) {
    f <- as.formula(paste0("~", v))
    m <- svymean(f, d)
    vals <- add(vals, case, "svymean", "estimate", coef(m), variable = v)
    vals <- add(vals, case, "svymean", "se", SE(m), variable = v)
    t <- svytotal(f, d)
    vals <- add(vals, case, "svytotal", "estimate", coef(t), variable = v)
    vals <- add(vals, case, "svytotal", "se", SE(t), variable = v)
  }
  b <- svyby(~api00, ~stype, d, svymean)
  vals <- add(vals, case, "svyby_svymean", "estimate", coef(b), variable = "api00",
              domain = as.character(b$stype))
  vals <- add(vals, case, "svyby_svymean", "se", SE(b), variable = "api00",
              domain = as.character(b$stype))
  r <- svyratio(~api.stu, ~enroll, d)
  vals <- add(vals, case, "svyratio", "estimate", coef(r), variable = "api.stu/enroll")
  vals <- add(vals, case, "svyratio", "se", SE(r), variable = "api.stu/enroll")
  q <- svyquantile(~api00, d, c(0.25, 0.5, 0.75))[[1]]
  vals <- add(vals, case, "svyquantile", "estimate", q[, 1], variable = "api00",
              category = c("0.25", "0.5", "0.75"), method = "math|mean")
  vals <- add(vals, case, "svyquantile", "se", q[, 4], variable = "api00",
              category = c("0.25", "0.5", "0.75"), method = "math|mean")
  vals <- add(vals, case, "svyquantile", "ci_lower", q[, 2], variable = "api00",
              category = c("0.25", "0.5", "0.75"), method = "math|mean")
  vals <- add(vals, case, "svyquantile", "ci_upper", q[, 3], variable = "api00",
              category = c("0.25", "0.5", "0.75"), method = "math|mean")
  fit <- svyglm(sw ~ ell + stype, design = d, family = quasibinomial(),
                control = glm.control(epsilon = 1e-12, maxit = 100))
  cf <- summary(fit)$coefficients
  vals <- add(vals, case, "svyglm", "estimate", cf[, 1], variable = "sw~ell+stype",
              category = rownames(cf))
  vals <- add(vals, case, "svyglm", "se", cf[, 2], variable = "sw~ell+stype",
              category = rownames(cf))
  vals <- add(vals, case, "svyglm", "df_residual", fit$df.residual, variable = "sw~ell+stype")
  vals <- add(vals, case, "degf", "df", degf(d))
  vals
}

bases <- list(apistrat = dstrat, apiclus1 = dclus1, apiclus1_jk1 = jk1)
for (b in names(bases)) {
  d0 <- bases[[b]]
  for (cf in c("linear", "raking", "logit")) {
    bounds <- if (cf == "logit") c(0.5, 2.5) else c(-Inf, Inf)
    args <- list(d0, ~enroll + stype, population = POP_API, calfun = cf, bounds = bounds,
                 maxit = 1000, epsilon = 1e-12)
    if (inherits(d0, "svyrep.design")) args$compress <- FALSE
    d <- do.call(calibrate, args)
    case <- paste0(b, "_cal_", cf)
    g <- weights(d) / weights(d0)
    vals <- add(vals, case, "calibrate", "g_min", min(g))
    vals <- add(vals, case, "calibrate", "g_max", max(g))
    if (cf == "logit") {
      vals <- add(vals, case, "calibrate", "bound_lower", bounds[1])
      vals <- add(vals, case, "calibrate", "bound_upper", bounds[2])
    }
    write_weights16(d, case)
    vals <- stats_after(vals, case, d)
    if (inherits(d, "svyrep.design")) vals <- add_rep_facts(vals, case, d)
  }
}
# linear with bounds that bind (R: grake iterations of the truncated linear function)
d <- calibrate(dstrat, ~enroll + stype, population = POP_API, calfun = "linear",
               bounds = c(0.7, 1.5), maxit = 1000, epsilon = 1e-12)
g <- weights(d) / weights(dstrat)
vals <- add(vals, "apistrat_cal_linear_bounded", "calibrate", "g_min", min(g))
vals <- add(vals, "apistrat_cal_linear_bounded", "calibrate", "g_max", max(g))
vals <- add(vals, "apistrat_cal_linear_bounded", "calibrate", "bound_lower", 0.7)
vals <- add(vals, "apistrat_cal_linear_bounded", "calibrate", "bound_upper", 1.5)
write_weights16(d, "apistrat_cal_linear_bounded")
vals <- stats_after(vals, "apistrat_cal_linear_bounded", d)

# England-like: numeric income total (the sample mean x 1.05 x n) with sex and age margins
inc_total <- mean(eng_df$income) * 1.05 * eng_n
sex_t <- eng_tg[eng_tg$variable == "sex", ]
age_t <- eng_tg[eng_tg$variable == "age_group", ]
pop_eng <- c(`(Intercept)` = eng_n, income = inc_total,
             setNames(sex_t$target[-1] * eng_n, paste0("sex", sex_t$category[-1])),
             setNames(age_t$target[-1] * eng_n, paste0("age_group", age_t$category[-1])))
vals <- add(vals, "england_population", "calibrate", "total", pop_eng, variable = names(pop_eng))
for (cf in c("linear", "raking")) {
  d <- calibrate(eng0, ~income + sex + age_group, population = pop_eng, calfun = cf,
                 maxit = 1000, epsilon = 1e-12)
  case <- paste0("england_cal_income_", cf)
  write_weights16(d, case)
  vals <- add(vals, case, "calibrate", "weight_sum", sum(weights(d)))
  for (v in c("trust", "pact_up", "income")) {
    m <- svymean(as.formula(paste0("~", v)), d)
    vals <- add(vals, case, "svymean", "estimate", coef(m), variable = v)
    vals <- add(vals, case, "svymean", "se", SE(m), variable = v)
  }
  fit <- svyglm(pact_up ~ sex + age_group, design = d, family = quasibinomial(),
                control = glm.control(epsilon = 1e-12, maxit = 100))
  cf_ <- summary(fit)$coefficients
  vals <- add(vals, case, "svyglm", "estimate", cf_[, 1], variable = "pact_up~sex+age_group",
              category = rownames(cf_))
  vals <- add(vals, case, "svyglm", "se", cf_[, 2], variable = "pact_up~sex+age_group",
              category = rownames(cf_))
  q <- svyquantile(~trust, d, 0.5)[[1]]
  vals <- add(vals, case, "svyquantile", "estimate", q[, 1], variable = "trust",
              category = "0.5", method = "math|mean")
  vals <- add(vals, case, "svyquantile", "se", q[, 4], variable = "trust", category = "0.5",
              method = "math|mean")
}
write_values16(vals, "calibrate_numeric.csv")
