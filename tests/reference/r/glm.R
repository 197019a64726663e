# Issue #16 regression reference: svyglm (gaussian, quasibinomial, binomial, quasipoisson,
# poisson) on stratified, clustered (fpc), raked and replicate (JK1, bootstrap) designs;
# coefficients, SEs, t, p, residual df, vcov, dispersion, Wald CIs (t on residual df) and
# normal-theory CIs, likelihood CIs for one model, predict (link/response with SEs),
# regTermTest (Wald F, df = residual df; chisq with df = Inf), odds ratios, interactions,
# reference levels; svypredmeans. Writes tests/reference/values/glm.csv.
# Run from the repository root: Rscript tests/reference/r/glm.R   Spec: SPEC_16.md.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common16.R"))
vals <- new_values()
GLM_CONTROL <- glm.control(epsilon = 1e-12, maxit = 100)

# new rows for predict()
new_api <- data.frame(ell = c(0, 20, 60), meals = c(10, 50, 90),
                      stype = factor(c("E", "H", "M"), levels = c("E", "H", "M")),
                      enroll = c(300, 800, 1500))
new_eng <- data.frame(sex = factor(c("Female", "Male", "Male"), levels = ENG_LEVELS$sex),
                      age_group = factor(c("18-24", "45-54", "75+"), levels = ENG_LEVELS$age_group),
                      education = factor(c("No qualifications", "Level 3 qualifications",
                                           "Level 4 qualifications and above"),
                                         levels = ENG_LEVELS$education))

record_fit <- function(vals, case, model, fit, newdata = NULL, terms = character(),
                       odds = FALSE, likelihood_ci = FALSE) {
  s <- summary(fit)
  cf <- s$coefficients
  nm <- rownames(cf)
  m <- function(q, v, category = nm, method = "") add(vals, case, "svyglm", q, v,
                                                       variable = model, category = category,
                                                       method = method)
  vals <- m("estimate", cf[, 1])
  vals <- m("se", cf[, 2])
  vals <- m("t", cf[, 3])
  vals <- m("p_value", cf[, 4])
  vals <- m("df_residual", fit$df.residual, category = "")
  vals <- m("degf_design", degf(fit$survey.design), category = "")
  vals <- m("n_coef", length(coef(fit)), category = "")
  vals <- m("dispersion", as.numeric(s$dispersion), category = "")
  if (!is.null(attr(s$dispersion, "var")))
    vals <- m("dispersion_se", sqrt(attr(s$dispersion, "var")), category = "")
  vals <- m("deviance", deviance(fit), category = "")
  V <- vcov(fit)
  g <- expand.grid(i = seq_along(nm), j = seq_along(nm))
  vals <- m("vcov", V[cbind(g$i, g$j)], category = paste(nm[g$i], nm[g$j], sep = "|"))
  ci <- confint(fit)                       # default: Wald, t on df.residual
  vals <- m("ci_lower", ci[, 1], method = "Wald_t")
  vals <- m("ci_upper", ci[, 2], method = "Wald_t")
  ci90 <- confint(fit, level = 0.90)
  vals <- m("ci_lower", ci90[, 1], method = "Wald_t_90")
  vals <- m("ci_upper", ci90[, 2], method = "Wald_t_90")
  cin <- confint(fit, ddf = Inf)           # normal quantiles
  vals <- m("ci_lower", cin[, 1], method = "Wald_normal")
  vals <- m("ci_upper", cin[, 2], method = "Wald_normal")
  cid <- confint.default(fit)              # stats' default: normal, same as ddf = Inf
  vals <- m("ci_lower", cid[, 1], method = "confint_default")
  vals <- m("ci_upper", cid[, 2], method = "confint_default")
  if (likelihood_ci) {
    cil <- suppressWarnings(suppressMessages(confint(fit, method = "likelihood")))
    vals <- m("ci_lower", cil[, 1], method = "likelihood")
    vals <- m("ci_upper", cil[, 2], method = "likelihood")
    cil <- suppressWarnings(suppressMessages(confint(fit, method = "likelihood",
                                                          level = 0.90)))
    vals <- m("ci_lower", cil[, 1], method = "likelihood_90")
    vals <- m("ci_upper", cil[, 2], method = "likelihood_90")
  }
  if (odds) {
    vals <- m("odds_ratio", exp(cf[, 1]))
    vals <- m("or_ci_lower", exp(ci[, 1]), method = "Wald_t")
    vals <- m("or_ci_upper", exp(ci[, 2]), method = "Wald_t")
  }
  if (!is.null(newdata)) {
    for (type in c("link", "response")) {
      p <- predict(fit, newdata = newdata, type = type, se.fit = TRUE)
      rows <- paste0("row", seq_len(nrow(newdata)))
      vals <- add(vals, case, "predict", "estimate", coef(p), variable = model,
                  category = rows, method = type)
      # sqrt of the variance attribute: SE() of a replicate fit's prediction (class
      # svrepstat with a vector variance) returns one number in survey 4.1.1
      pv <- attr(p, "var")
      vals <- add(vals, case, "predict", "se", if (is.matrix(pv)) sqrt(diag(pv)) else sqrt(pv),
                  variable = model, category = rows, method = type)
    }
    pv <- predict(fit, newdata = newdata, type = "link", se.fit = TRUE, vcov = TRUE)
    V <- vcov(pv)
    k <- nrow(newdata)
    g <- expand.grid(i = seq_len(k), j = seq_len(k))
    vals <- add(vals, case, "predict", "vcov", V[cbind(g$i, g$j)], variable = model,
                category = paste0("row", g$i, "|row", g$j), method = "link")
  }
  for (tt in terms) {
    f <- as.formula(paste0("~", tt))
    r <- regTermTest(fit, f)                 # Wald F; df = fit$df.residual
    vals <- add(vals, case, "regTermTest", "F", as.numeric(r$Ftest), variable = model,
                category = tt, method = "Wald")
    vals <- add(vals, case, "regTermTest", "df_num", r$df, variable = model, category = tt,
                method = "Wald")
    vals <- add(vals, case, "regTermTest", "df_den", r$ddf, variable = model, category = tt,
                method = "Wald")
    vals <- add(vals, case, "regTermTest", "p_value", as.numeric(r$p), variable = model,
                category = tt, method = "Wald")
    r <- regTermTest(fit, f, df = Inf)       # chi-squared
    vals <- add(vals, case, "regTermTest", "chisq", as.numeric(r$chisq), variable = model,
                category = tt, method = "Wald_chisq")
    vals <- add(vals, case, "regTermTest", "p_value", as.numeric(r$p), variable = model,
                category = tt, method = "Wald_chisq")
  }
  vals
}

# ---------------------------------------------------------------- API models
api_models <- list(
  gaussian = list(f = api00 ~ ell + meals + stype, fam = gaussian(), terms = "stype"),
  quasibinomial = list(f = sw ~ ell + stype, fam = quasibinomial(), terms = "stype",
                       odds = TRUE),
  quasipoisson = list(f = enroll ~ meals + stype, fam = quasipoisson(), terms = "stype"),
  poisson = list(f = enroll ~ meals + stype, fam = poisson(), terms = "stype"),
  interaction = list(f = api00 ~ ell * stype, fam = gaussian(), terms = c("ell:stype", "stype")),
  releveled = list(f = api00 ~ ell + meals + relevel(stype, ref = "H"), fam = gaussian(),
                   terms = character())
)
designs <- c(LIN_DESIGNS, REP_DESIGNS)
for (case in names(designs)) {
  d <- designs[[case]]
  for (model in names(api_models)) {
    am <- api_models[[model]]
    fit <- svyglm(am$f, design = d, family = am$fam, control = GLM_CONTROL)
    nd <- if (model == "releveled") NULL else new_api
    vals <- record_fit(vals, case, model, fit, newdata = nd, terms = am$terms,
                       odds = isTRUE(am$odds),
                       # R's profile fails for gaussian models (survey 4.1.1: "NA/NaN/Inf
                       # in 'y'") and for quasipoisson on apiclus1
                       likelihood_ci = (model == "quasibinomial" ||
                                        (model == "quasipoisson" && case == "apistrat")))
  }
}
for (case in names(REP_DESIGNS)) vals <- add_rep_facts(vals, case, REP_DESIGNS[[case]])
for (case in names(LIN_DESIGNS)) vals <- add(vals, case, "degf", "df", degf(LIN_DESIGNS[[case]]))

# binomial (not quasi): same coefficients and SEs as quasibinomial, R warns about
# non-integer successes; recorded to show the equality
fit_b <- suppressWarnings(svyglm(sw ~ ell + stype, design = dstrat, family = binomial(),
                                 control = GLM_CONTROL))
vals <- record_fit(vals, "apistrat", "binomial", fit_b, newdata = new_api, terms = "stype",
                   odds = TRUE)
# rescale = FALSE: the same coefficients and SEs (weights are only normalised)
fit_nr <- svyglm(api00 ~ ell + meals + stype, design = dstrat, rescale = FALSE,
                 control = GLM_CONTROL)
vals <- record_fit(vals, "apistrat", "gaussian_norescale", fit_nr)

# ---------------------------------------------------------------- England raked (deliberative)
eng_models <- list(
  pact_logit = list(f = pact_up ~ sex + age_group + education, fam = quasibinomial(),
                    terms = c("age_group", "education"), odds = TRUE),
  agree_logit = list(f = agree ~ sex * age_group, fam = quasibinomial(),
                     terms = c("sex:age_group"), odds = TRUE),
  trust_linear = list(f = trust ~ sex + age_group + education, fam = gaussian(),
                      terms = "education"),
  trust_poisson = list(f = trust ~ sex + age_group + education, fam = quasipoisson(),
                       terms = "education")
)
for (case in c("england_raked", "england_unweighted")) {
  d <- if (case == "england_raked") eng else eng0
  for (model in names(eng_models)) {
    em <- eng_models[[model]]
    fit <- svyglm(em$f, design = d, family = em$fam, control = GLM_CONTROL)
    vals <- record_fit(vals, case, model, fit, newdata = new_eng, terms = em$terms,
                       odds = isTRUE(em$odds), likelihood_ci = (model == "pact_logit"))
  }
  vals <- add(vals, case, "degf", "df", degf(d))
}
write_weights16(eng, "england_raked")
write_weights16(rstrat, "apistrat_raked")

# ---------------------------------------------------------------- svypredmeans
pm_cases <- list(
  list(case = "apistrat", d = dstrat, f = api00 ~ ell + meals, g = ~stype, fam = gaussian(),
       model = "api00~ell+meals|stype"),
  list(case = "apiclus1", d = dclus1, f = api00 ~ ell + meals, g = ~stype, fam = gaussian(),
       model = "api00~ell+meals|stype"),
  list(case = "apistrat_raked", d = rstrat, f = sw ~ ell + meals, g = ~stype,
       fam = quasibinomial(), model = "sw~ell+meals|stype"),
  list(case = "england_raked", d = eng, f = pact_up ~ sex + education, g = ~age_group,
       fam = quasibinomial(), model = "pact_up~sex+education|age_group"),
  # with incomplete rows (na.omit, SPEC 2.10; R fails on the raked design with them:
  # "number of items to replace is not a multiple of replacement length")
  list(case = "apistrat", d = na_strat(dstrat), f = api00 ~ ell_na + meals, g = ~stype,
       fam = gaussian(), model = "api00~ell_na+meals|stype")
)
for (pc in pm_cases) {
  fit <- svyglm(pc$f, design = pc$d, family = pc$fam, control = GLM_CONTROL)
  pm <- svypredmeans(fit, pc$g)
  lv <- names(coef(pm))
  vals <- add(vals, pc$case, "svypredmeans", "estimate", coef(pm), variable = pc$model,
              category = lv)
  vals <- add(vals, pc$case, "svypredmeans", "se", SE(pm), variable = pc$model, category = lv)
  V <- vcov(pm)
  g <- expand.grid(i = seq_along(lv), j = seq_along(lv))
  vals <- add(vals, pc$case, "svypredmeans", "vcov", V[cbind(g$i, g$j)], variable = pc$model,
              category = paste(lv[g$i], lv[g$j], sep = "|"))
  parts <- attr(attr(pm, "var"), "parts")
  vals <- add(vals, pc$case, "svypredmeans", "var_model_part", diag(parts[[1]]),
              variable = pc$model, category = lv)
  vals <- add(vals, pc$case, "svypredmeans", "var_mean_part", diag(parts[[2]]),
              variable = pc$model, category = lv)
}

# ---------------------------------------------------------------- more designs (SPEC 2.9)
# two-stage (apiclus2: multistage variance), calibrated to a numeric total (calibrate_numeric.R's
# apistrat cases) and BRR / Fay (brr.R's design, read back from the data file brr.R wrote)
dclus2_glm <- update(dclus2, sw = as.integer(sch.wide == "Yes"))
POP_API_GLM <- c(`(Intercept)` = 6194, enroll = POP_ENROLL_TOTAL, stypeH = 755, stypeM = 1018)
cal_glm <- function(cf) calibrate(dstrat, ~enroll + stype, population = POP_API_GLM,
                                  calfun = cf, maxit = 1000, epsilon = 1e-12)
brr_df <- read.csv(data_path("apistrat_brr.csv"), stringsAsFactors = FALSE)
brr_df$stype <- factor(brr_df$stype, levels = c("E", "H", "M"))
brr_lin <- svydesign(ids = ~vpsu, strata = ~vstrat, weights = ~pw, data = brr_df)
# (case names end in _glm: brr.csv, multistage.csv and calibrate_numeric.csv hold a few of
# the same fits, computed from differently ordered data, equal to ~1e-15)
more <- list(apiclus2_glm = dclus2_glm, apistrat_cal_linear_glm = cal_glm("linear"),
             apistrat_cal_raking_glm = cal_glm("raking"),
             apistrat_brr_glm = as.svrepdesign(brr_lin, type = "BRR"),
             apistrat_fay_glm = as.svrepdesign(brr_lin, type = "Fay", fay.rho = 0.3))
for (case in names(more)) {
  d <- more[[case]]
  for (model in c("gaussian", "quasibinomial")) {
    am <- api_models[[model]]
    fit <- svyglm(am$f, design = d, family = am$fam, control = GLM_CONTROL)
    vals <- record_fit(vals, case, model, fit, newdata = new_api, terms = am$terms,
                       odds = isTRUE(am$odds))
  }
  vals <- add(vals, case, "degf", "df", degf(d))
}

# ---------------------------------------------------------------- missing values (SPEC 2.10)
# svyglm's default na.action = na.omit: incomplete rows leave the fit; the variance keeps the
# full design (linearised: design[-nas, ] keeps every stratum's PSU count, so the SEs are
# those of the complete rows as a domain; df = degf of the remaining rows; calibrated designs
# keep the rows with zero weight); replicate designs: df.residual from the full design's degf.
# The columns ell_na and stype_na: common16.R's na_strat and na_clus.
na_designs <- list(apistrat = na_strat(dstrat), apistrat_raked = na_strat(rstrat),
                   apiclus1 = na_clus(dclus1), apiclus1_jk1 = na_clus(jk1))
na_models <- list(
  gaussian_na = list(f = api00 ~ ell_na + stype_na, fam = gaussian()),
  quasibinomial_na = list(f = sw ~ ell_na + stype_na, fam = quasibinomial()))
for (case in names(na_designs)) {
  d <- na_designs[[case]]
  for (model in names(na_models)) {
    nm <- na_models[[model]]
    fit <- svyglm(nm$f, design = d, family = nm$fam, control = GLM_CONTROL)
    vals <- record_fit(vals, case, model, fit, terms = "stype_na")
    vals <- add(vals, case, "svyglm", "n_dropped", length(fit$na.action), variable = model)
  }
}

# ---------------------------------------------------------------- a domain (SPEC 2.11)
# svyglm on subset(d, stype == "E") (= glm(..., by = "stype")): deviance and likelihood CIs
# depend on the rows R keeps (a calibrated design keeps all, others the domain's) and on
# the weights' mean over them
for (case in c("apistrat", "apistrat_raked")) {
  d <- subset(LIN_DESIGNS[[case]], stype == "E")
  fit <- svyglm(sw ~ ell, d, family = quasibinomial(), control = GLM_CONTROL)
  m <- "sw~ell|stype=E"
  vals <- add(vals, case, "svyglm_domain", "estimate", coef(fit), variable = m,
              category = names(coef(fit)))
  vals <- add(vals, case, "svyglm_domain", "se", SE(fit), variable = m,
              category = names(coef(fit)))
  vals <- add(vals, case, "svyglm_domain", "deviance", deviance(fit), variable = m)
  vals <- add(vals, case, "svyglm_domain", "dispersion", summary(fit)$dispersion[1],
              variable = m)
  cil <- suppressWarnings(suppressMessages(confint(fit, method = "likelihood")))
  vals <- add(vals, case, "svyglm_domain", "ci_lower", cil[, 1], variable = m,
              category = rownames(cil), method = "likelihood")
  vals <- add(vals, case, "svyglm_domain", "ci_upper", cil[, 2], variable = m,
              category = rownames(cil), method = "likelihood")
}

write_values16(vals, "glm.csv")
