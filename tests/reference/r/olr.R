# Issue #16 ordinal logistic regression reference: svyolr (proportional odds, logistic link)
# on stratified, clustered, raked and JK1/bootstrap designs, and on the raked England-like
# sample (trust 0-10 in four ordered bands). R's svyolr maximises with optim(BFGS) at its
# default relative tolerance (1e-8), which leaves the estimates ~1e-3 from the optimum, and
# takes the Hessian by finite differences of the gradient (optim's ndeps = 1e-3). So every case
# is recorded twice: method "R_default" (exactly what svyolr prints) and method "converged"
# (optim reltol = 1e-15 and ndeps = 1e-6: the optimum and an accurate Hessian), which is the
# target for an implementation that converges fully. For replicate designs svyolr refits
# MASS::polr per replicate at polr's default tolerance; "converged" refits them at
# reltol = 1e-15 (the same formula as survey:::svyolr.svyrep.design, svrVar with mse = FALSE).
# Writes tests/reference/values/olr.csv. Run from the repository root. Spec: SPEC_16.md.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common16.R"))
vals <- new_values()

record_olr <- function(vals, case, model, fit, method) {
  cf <- coef(fit)                       # slopes then thresholds ("a|b")
  nm <- names(cf)
  V <- vcov(fit)
  se <- sqrt(diag(V))
  m <- function(q, v, category = nm) add(vals, case, "svyolr", q, v, variable = model,
                                         category = category, method = method)
  vals <- m("estimate", cf)
  vals <- m("se", se)
  vals <- m("t", cf / se)
  vals <- m("df_residual", fit$df.residual, category = "")
  vals <- m("deviance", fit$deviance, category = "")
  g <- expand.grid(i = seq_along(nm), j = seq_along(nm))
  vals <- m("vcov", V[cbind(g$i, g$j)], category = paste(nm[g$i], nm[g$j], sep = "|"))
  vals
}
tight <- function(k) list(reltol = 1e-15, maxit = 10000, ndeps = rep(1e-6, k))

cases <- list(
  list(case = "apistrat", d = dstrat, f = api_band ~ ell + meals + stype,
       model = "api_band~ell+meals+stype"),
  list(case = "apiclus1", d = dclus1, f = api_band ~ ell + meals,
       model = "api_band~ell+meals"),
  list(case = "apistrat_raked", d = rstrat, f = api_band ~ ell + meals + stype,
       model = "api_band~ell+meals+stype"),
  list(case = "england_raked", d = eng, f = trust_band ~ sex + age_group,
       model = "trust_band~sex+age_group")
)
for (cc in cases) {
  fit <- svyolr(cc$f, cc$d)
  vals <- record_olr(vals, cc$case, cc$model, fit, "R_default")
  k <- length(coef(fit))
  fit2 <- svyolr(cc$f, cc$d, control = tight(k))
  # restart once from the answer (on svyolr's scale: slopes, zeta1, log(diff(zeta)))
  z <- fit2$zeta
  fit2 <- svyolr(cc$f, cc$d, start = c(fit2$coefficients, z[1], log(diff(z))),
                 control = tight(k))
  vals <- record_olr(vals, cc$case, cc$model, fit2, "converged")
  vals <- add(vals, cc$case, "degf", "df", degf(cc$d))
  # the Wald F of a term (regTermTest on svyolr: df = fit$df.residual = degf - #slopes)
  if (cc$case %in% c("apistrat", "apistrat_raked")) {
    r <- regTermTest(fit2, ~stype)
    vals <- add(vals, cc$case, "regTermTest", "F", as.numeric(r$Ftest), variable = cc$model,
                category = "stype", method = "converged")
    vals <- add(vals, cc$case, "regTermTest", "df_num", r$df, variable = cc$model,
                category = "stype", method = "converged")
    vals <- add(vals, cc$case, "regTermTest", "df_den", r$ddf, variable = cc$model,
                category = "stype", method = "converged")
    vals <- add(vals, cc$case, "regTermTest", "p_value", as.numeric(r$p), variable = cc$model,
                category = "stype", method = "converged")
  }
}

# replicate designs
polr_tight <- function(f, data, w, start = NULL) {
  environment(f) <- environment()
  args <- list(formula = f, data = data, weights = w, Hess = FALSE, model = FALSE,
               control = list(reltol = 1e-15, maxit = 10000))
  if (!is.null(start)) args$start <- start
  # polr's BFGS can stop short even at reltol = 1e-15: restart from its own answer until
  # the estimates move by less than 1e-10
  for (i in 1:10) {
    m <- suppressWarnings(do.call(MASS::polr, args))
    est <- c(m$coefficients, m$zeta)
    if (!is.null(args$start) && max(abs(est - args$start)) < 1e-10) break
    args$start <- est
  }
  est
}
for (case in names(REP_DESIGNS)) {
  d <- REP_DESIGNS[[case]]
  f <- api_band ~ ell + meals
  model <- "api_band~ell+meals"
  fit <- svyolr(f, d)
  vals <- record_olr(vals, case, model, fit, "R_default")
  df <- model.frame(d)
  est <- polr_tight(f, df, weights(d, "sampling"))
  reps <- t(apply(weights(d, "analysis"), 2, function(w) polr_tight(f, df, w, start = est)))
  V <- svrVar(reps, d$scale, d$rscales, mse = FALSE, coef = est)
  nm <- names(est)
  vals <- add(vals, case, "svyolr", "estimate", est, variable = model, category = nm,
              method = "converged")
  vals <- add(vals, case, "svyolr", "se", sqrt(diag(V)), variable = model, category = nm,
              method = "converged")
  g <- expand.grid(i = seq_along(nm), j = seq_along(nm))
  vals <- add(vals, case, "svyolr", "vcov", V[cbind(g$i, g$j)], variable = model,
              category = paste(nm[g$i], nm[g$j], sep = "|"), method = "converged")
  vals <- add(vals, case, "svyolr", "df_residual", degf(d) - 2, variable = model,
              method = "converged")
  vals <- add_rep_facts(vals, case, d)
}

# missing values (na.action = na.omit, SPEC 2b.3): incomplete rows leave the fit, the
# linearised variance keeps the full design (df = degf of the remaining rows - #slopes)
for (cc in list(list(case = "apistrat", d = na_strat(dstrat)),
                list(case = "apiclus1", d = na_clus(dclus1)))) {
  f <- api_band ~ ell_na + meals + stype_na
  model <- "api_band~ell_na+meals+stype_na"
  fit <- svyolr(f, cc$d)
  k <- length(coef(fit))
  fit2 <- svyolr(f, cc$d, control = tight(k))
  z <- fit2$zeta
  fit2 <- svyolr(f, cc$d, start = c(fit2$coefficients, z[1], log(diff(z))), control = tight(k))
  vals <- record_olr(vals, cc$case, model, fit2, "converged")
  vals <- add(vals, cc$case, "svyolr", "n_dropped", length(fit2$na.action), variable = model,
              method = "converged")
  vals <- add(vals, cc$case, "svyolr", "degf_design",
              degf(subset(cc$d, !is.na(ell_na) & !is.na(stype_na))), variable = model,
              method = "converged")
}

# missing values on a replicate design: polr drops the incomplete rows in every refit;
# df.residual = degf of the full design - #slopes (svyolr.svyrep.design)
d <- na_clus(jk1)
f <- api_band ~ ell_na + meals + stype_na
model <- "api_band~ell_na+meals+stype_na"
df <- model.frame(d)
est <- polr_tight(f, df, weights(d, "sampling"))
reps <- t(apply(weights(d, "analysis"), 2, function(w) polr_tight(f, df, w, start = est)))
V <- svrVar(reps, d$scale, d$rscales, mse = FALSE, coef = est)
nm <- names(est)
vals <- add(vals, "apiclus1_jk1", "svyolr", "estimate", est, variable = model, category = nm,
            method = "converged")
vals <- add(vals, "apiclus1_jk1", "svyolr", "se", sqrt(diag(V)), variable = model,
            category = nm, method = "converged")
g <- expand.grid(i = seq_along(nm), j = seq_along(nm))
vals <- add(vals, "apiclus1_jk1", "svyolr", "vcov", V[cbind(g$i, g$j)], variable = model,
            category = paste(nm[g$i], nm[g$j], sep = "|"), method = "converged")
vals <- add(vals, "apiclus1_jk1", "svyolr", "df_residual", degf(d) - 4, variable = model,
            method = "converged")

write_values16(vals, "olr.csv")
