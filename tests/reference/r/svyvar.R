# Issue #16 reference for the other everyday estimators: svyvar (one variable and a
# covariance matrix, with SEs), svytotal and svymean of a factor, svytable (plain, Ntotal,
# round), svyby over several variables at once with the joint covariance (covmat = TRUE)
# and contrasts between two questions, svychisq statistics Wald, adjWald and saddlepoint
# (lincom needs the CompQuadForm package, not installed here: R would silently fall back to
# the saddlepoint approximation, so it is not recorded). Linearised (stratified, clustered, raked, two-stage) and JK1/bootstrap designs.
# Writes tests/reference/values/svyvar.csv. Run from the repository root. Spec: SPEC_16.md.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common16.R"))
vals <- new_values()
designs <- c(LIN_DESIGNS, list(apiclus2 = dclus2), REP_DESIGNS)
for (case in names(designs)) {
  d <- designs[[case]]
  # ---- svyvar of one variable
  v <- svyvar(~api00, d)
  vals <- add(vals, case, "svyvar", "estimate", coef(v), variable = "api00")
  vals <- add(vals, case, "svyvar", "se", SE(v), variable = "api00")
  vals <- add(vals, case, "svyvar", "sd", sqrt(coef(v)), variable = "api00")
  # ---- covariance matrix of two variables: the 4 entries and the 4 x 4 covariance of them
  v <- svyvar(~api00 + api99, d)
  m <- as.matrix(v)
  nm <- c("api00", "api99")
  g <- expand.grid(i = 1:2, j = 1:2)
  ent <- paste(nm[g$i], nm[g$j], sep = ":")
  vals <- add(vals, case, "svyvar", "estimate", m[cbind(g$i, g$j)], variable = ent)
  V <- attr(v, "var")
  vals <- add(vals, case, "svyvar", "se", sqrt(diag(V)), variable = ent)
  g4 <- expand.grid(i = 1:4, j = 1:4)
  vals <- add(vals, case, "svyvar", "vcov", V[cbind(g4$i, g4$j)],
              variable = paste(ent[g4$i], ent[g4$j], sep = "|"))
  # ---- totals and means of factors
  for (fv in c("stype", "sch.wide", "enroll_band")) {
    if (case == "apiclus2" && fv == "enroll_band") next
    f <- as.formula(paste0("~", fv))
    t <- svytotal(f, d)
    lv <- sub(paste0("^", fv), "", names(coef(t)), fixed = FALSE)
    vals <- add(vals, case, "svytotal", "estimate", coef(t), variable = fv, category = lv)
    vals <- add(vals, case, "svytotal", "se", SE(t), variable = fv, category = lv)
    V <- vcov(t)
    g <- expand.grid(i = seq_along(lv), j = seq_along(lv))
    vals <- add(vals, case, "svytotal", "vcov", V[cbind(g$i, g$j)], variable = fv,
                category = paste(lv[g$i], lv[g$j], sep = "|"))
  }
  t <- svytotal(~interaction(stype, sch.wide), d)
  lv <- sub("^interaction\\(stype, sch.wide\\)", "", names(coef(t)))
  vals <- add(vals, case, "svytotal", "estimate", coef(t), variable = "stype.sch.wide",
              category = lv)
  vals <- add(vals, case, "svytotal", "se", SE(t), variable = "stype.sch.wide", category = lv)
  # ---- svytable
  tb <- svytable(~stype + sch.wide, d)
  g <- expand.grid(i = seq_len(nrow(tb)), j = seq_len(ncol(tb)))
  cells <- paste(rownames(tb)[g$i], colnames(tb)[g$j], sep = "|")
  vals <- add(vals, case, "svytable", "estimate", tb[cbind(g$i, g$j)],
              variable = "stype|sch.wide", category = cells)
  tb <- svytable(~stype + sch.wide, d, Ntotal = 100)
  vals <- add(vals, case, "svytable", "estimate", tb[cbind(g$i, g$j)],
              variable = "stype|sch.wide", category = cells, method = "Ntotal=100")
  tb <- svytable(~stype + sch.wide, d, round = TRUE)
  vals <- add(vals, case, "svytable", "estimate", tb[cbind(g$i, g$j)],
              variable = "stype|sch.wide", category = cells, method = "round")
  # ---- svyby over two variables at once, with the joint covariance, and contrasts
  b <- tryCatch(svyby(~api00 + api99, ~stype, d, svymean, covmat = TRUE),
                error = function(e) NULL)
  j <- joint_domain_ratios(d, c("api00", "api99"), "stype")
  if (is.null(b)) {
    # survey 4.1.1: svyby(covmat = TRUE) fails on post-stratified/raked/calibrated designs;
    # the joint covariance comes from the equivalent svyratio (see common16.R)
    vals <- add(vals, case, "svyby_svymean", "covmat_fails_in_R", 1, variable = "api00+api99")
    b <- svyby(~api00 + api99, ~stype, d, svymean)
    est <- j$est
    V <- j$V
    meth <- "via_svyratio"
  } else {
    V <- vcov(b)
    stopifnot(isTRUE(all.equal(unname(V), unname(j$V), tolerance = 1e-12)),
              isTRUE(all.equal(unname(coef(b)), j$est, tolerance = 1e-14)))
    est <- unname(coef(b))
    meth <- ""
  }
  dom <- as.character(b$stype)
  vals <- add(vals, case, "svyby_svymean", "estimate", coef(b),
              variable = c(rep("api00", 3), rep("api99", 3)), domain = c(dom, dom))
  vals <- add(vals, case, "svyby_svymean", "se", as.vector(as.matrix(SE(b))),
              variable = c(rep("api00", 3), rep("api99", 3)), domain = c(dom, dom))
  stopifnot(isTRUE(all.equal(unname(coef(b)), est, tolerance = 1e-14)),
            isTRUE(all.equal(as.vector(as.matrix(SE(b))), sqrt(diag(unname(V))),
                             tolerance = 1e-12)))
  g <- expand.grid(i = 1:6, j = 1:6)
  vals <- add(vals, case, "svyby_svymean", "vcov", V[cbind(g$i, g$j)],
              variable = paste(j$names[g$i], j$names[g$j], sep = "|"), method = meth)
  # contrast between the two questions within E, and its difference between E and H
  L <- rbind(E_api00_minus_api99 = c(1, 0, 0, -1, 0, 0),
             E_minus_H_of_difference = c(1, -1, 0, -1, 1, 0))
  vals <- add(vals, case, "svycontrast", "estimate", drop(L %*% est),
              variable = rownames(L), method = meth)
  vals <- add(vals, case, "svycontrast", "se", sqrt(diag(L %*% V %*% t(L))),
              variable = rownames(L), method = meth)
  # the same two variables jointly without domains
  m2 <- svymean(~api00 + api99, d)
  ct <- svycontrast(m2, c(api00 = 1, api99 = -1))
  vals <- add(vals, case, "svycontrast", "estimate", coef(ct), variable = "api00-api99")
  vals <- add(vals, case, "svycontrast", "se", SE(ct), variable = "api00-api99")
  # ---- svychisq
  for (st in c("F", "Chisq", "Wald", "adjWald", "saddlepoint")) {
    r <- svychisq(~sch.wide + stype, d, statistic = st)
    vals <- add(vals, case, "svychisq", "statistic", r$statistic, variable = "sch.wide|stype",
                method = st)
    vals <- add(vals, case, "svychisq", "p_value", r$p.value, variable = "sch.wide|stype",
                method = st)
    if (length(r$parameter) > 0)
      vals <- add(vals, case, "svychisq", "df_num", r$parameter[1],
                  variable = "sch.wide|stype", method = st)
    if (length(r$parameter) > 1)
      vals <- add(vals, case, "svychisq", "df_den", r$parameter[2],
                  variable = "sch.wide|stype", method = st)
  }
  vals <- add(vals, case, "degf", "df", degf(d))
  if (inherits(d, "svyrep.design")) vals <- add_rep_facts(vals, case, d)
}
# England raked: two questions jointly by sex and their contrast
# (svyby(covmat = TRUE) fails on this raked design in survey 4.1.1: via svyratio)
b <- svyby(~pact_up + agree, ~sex, eng, svymean)
j <- joint_domain_ratios(eng, c("pact_up", "agree"), "sex")
stopifnot(isTRUE(all.equal(j$est, c(b$pact_up, b$agree), tolerance = 1e-14)),
          isTRUE(all.equal(unname(sqrt(diag(j$V))), c(b$se.pact_up, b$se.agree), tolerance = 1e-12)))
vals <- add(vals, "england_raked", "svyby_svymean", "estimate", j$est,
            variable = c("pact_up", "pact_up", "agree", "agree"),
            domain = rep(as.character(b$sex), 2))
vals <- add(vals, "england_raked", "svyby_svymean", "se", sqrt(diag(j$V)),
            variable = c("pact_up", "pact_up", "agree", "agree"),
            domain = rep(as.character(b$sex), 2))
g <- expand.grid(i = 1:4, j = 1:4)
vals <- add(vals, "england_raked", "svyby_svymean", "vcov", j$V[cbind(g$i, g$j)],
            variable = paste(j$names[g$i], j$names[g$j], sep = "|"), method = "via_svyratio")
L <- rbind(Female_pact_minus_agree = c(1, 0, -1, 0))
vals <- add(vals, "england_raked", "svycontrast", "estimate", drop(L %*% j$est),
            variable = rownames(L), method = "via_svyratio")
vals <- add(vals, "england_raked", "svycontrast", "se", sqrt(diag(L %*% j$V %*% t(L))),
            variable = rownames(L), method = "via_svyratio")
for (st in c("Wald", "adjWald", "saddlepoint")) {
  r <- svychisq(~q_pact + sex, eng, statistic = st)
  vals <- add(vals, "england_raked", "svychisq", "statistic", r$statistic,
              variable = "q_pact|sex", method = st)
  vals <- add(vals, "england_raked", "svychisq", "p_value", r$p.value, variable = "q_pact|sex",
              method = st)
  if (length(r$parameter) > 0)
    vals <- add(vals, "england_raked", "svychisq", "df_num", r$parameter[1],
                variable = "q_pact|sex", method = st)
  if (length(r$parameter) > 1)
    vals <- add(vals, "england_raked", "svychisq", "df_den", r$parameter[2],
                variable = "q_pact|sex", method = st)
}
v <- svyvar(~trust, eng)
vals <- add(vals, "england_raked", "svyvar", "estimate", coef(v), variable = "trust")
vals <- add(vals, "england_raked", "svyvar", "se", SE(v), variable = "trust")
write_values16(vals, "svyvar.csv")
