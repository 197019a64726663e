# Issue #16 multistage reference: apiclus2, a two-stage cluster sample (40 districts, then up
# to 5 schools in each) as svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2): R's default
# multistage variance (first-stage between-PSU term with fpc1 plus, within each PSU, the
# second-stage term with fpc2 scaled by n1/N1), against the ultimate-cluster approximation
# (options(survey.ultimate.cluster = TRUE)) and a one-stage design with the same weights.
# svymean/svytotal (numeric and factor), svyby, svyratio, svyquantile, svyglm.
# Writes tests/reference/values/multistage.csv. Run from the repository root. Spec: SPEC_16.md.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common16.R"))
vals <- new_values()
one <- svydesign(id = ~dnum, fpc = ~fpc1, weights = ~pw, data = apiclus2_16)

run <- function(vals, case, d) {
  vals <- add(vals, case, "degf", "df", degf(d))
  vals <- add(vals, case, "design", "weight_sum", sum(weights(d)))
  for (v in c("api00", "api.stu", "enroll")) {
    f <- as.formula(paste0("~", v))
    na <- v == "enroll"
    m <- svymean(f, d, na.rm = na)
    vals <- add(vals, case, "svymean", "estimate", coef(m), variable = v)
    vals <- add(vals, case, "svymean", "se", SE(m), variable = v)
    t <- svytotal(f, d, na.rm = na)
    vals <- add(vals, case, "svytotal", "estimate", coef(t), variable = v)
    vals <- add(vals, case, "svytotal", "se", SE(t), variable = v)
  }
  ci <- confint(svymean(~api00, d), df = degf(d))
  vals <- add(vals, case, "svymean", "ci_lower", ci[, 1], variable = "api00", method = "t_degf")
  vals <- add(vals, case, "svymean", "ci_upper", ci[, 2], variable = "api00", method = "t_degf")
  for (fv in c("stype", "sch.wide")) {
    f <- as.formula(paste0("~", fv))
    m <- svymean(f, d)
    lv <- levels(factor(apiclus2_16[[fv]]))
    vals <- add(vals, case, "svymean", "estimate", coef(m), variable = fv, category = lv)
    vals <- add(vals, case, "svymean", "se", SE(m), variable = fv, category = lv)
    t <- svytotal(f, d)
    vals <- add(vals, case, "svytotal", "estimate", coef(t), variable = fv, category = lv)
    vals <- add(vals, case, "svytotal", "se", SE(t), variable = fv, category = lv)
  }
  for (fun in c("svymean", "svytotal")) {
    b <- svyby(~api00, ~stype, d, get(fun))
    vals <- add(vals, case, paste0("svyby_", fun), "estimate", coef(b), variable = "api00",
                domain = as.character(b$stype))
    vals <- add(vals, case, paste0("svyby_", fun), "se", SE(b), variable = "api00",
                domain = as.character(b$stype))
  }
  b <- svyby(~api00, ~stype, d, svymean, covmat = TRUE)
  V <- vcov(b)
  g <- expand.grid(i = 1:3, j = 1:3)
  vals <- add(vals, case, "svyby_svymean", "vcov", V[cbind(g$i, g$j)], variable = "api00",
              domain = paste(rownames(V)[g$i], colnames(V)[g$j], sep = "|"))
  r <- svyratio(~api.stu, ~enroll, subset(d, !is.na(enroll)))
  vals <- add(vals, case, "svyratio", "estimate", coef(r), variable = "api.stu/enroll")
  vals <- add(vals, case, "svyratio", "se", SE(r), variable = "api.stu/enroll")
  q <- svyquantile(~api00, d, c(0.25, 0.5, 0.75))[[1]]
  cat_ <- c("0.25", "0.5", "0.75")
  vals <- add(vals, case, "svyquantile", "estimate", q[, 1], variable = "api00",
              category = cat_, method = "math|mean")
  vals <- add(vals, case, "svyquantile", "ci_lower", q[, 2], variable = "api00",
              category = cat_, method = "math|mean")
  vals <- add(vals, case, "svyquantile", "ci_upper", q[, 3], variable = "api00",
              category = cat_, method = "math|mean")
  vals <- add(vals, case, "svyquantile", "se", q[, 4], variable = "api00", category = cat_,
              method = "math|mean")
  fit <- svyglm(api00 ~ ell + meals + stype, design = d,
                control = glm.control(epsilon = 1e-12, maxit = 100))
  cf <- summary(fit)$coefficients
  vals <- add(vals, case, "svyglm", "estimate", cf[, 1], variable = "gaussian",
              category = rownames(cf))
  vals <- add(vals, case, "svyglm", "se", cf[, 2], variable = "gaussian",
              category = rownames(cf))
  vals <- add(vals, case, "svyglm", "df_residual", fit$df.residual, variable = "gaussian")
  vals
}

vals <- run(vals, "apiclus2", dclus2)
# the two terms of the multistage variance of the api00 total
old <- options(survey.ultimate.cluster = TRUE)
vals <- run(vals, "apiclus2_ultimate_cluster", dclus2)
options(old)
vals <- run(vals, "apiclus2_one_stage", one)
v_all <- vcov(svytotal(~api00, dclus2))
old <- options(survey.ultimate.cluster = TRUE)
v_first <- vcov(svytotal(~api00, dclus2))
options(old)
vals <- add(vals, "apiclus2", "multistage_terms", "stage1", v_first, variable = "api00",
            method = "svytotal")
vals <- add(vals, "apiclus2", "multistage_terms", "stage2", v_all - v_first, variable = "api00",
            method = "svytotal")
# the design's stage sizes: n1, N1 and, per PSU, n2 and N2
vals <- add(vals, "apiclus2", "design", "n_psu", length(unique(apiclus2_16$dnum)))
vals <- add(vals, "apiclus2", "design", "N_psu", unique(apiclus2_16$fpc1))
write_values16(vals, "multistage.csv")
