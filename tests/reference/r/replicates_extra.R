# Extra replicate-weight reference cases (beyond replicates.R), for tests/test_replicates.py:
# - R's own JK1, JKn and raked-JK1 replicate weights (column order and values);
# - domain CIs (svyby + svyciprop) with each domain's df (rank of its replicate weights - 1)
#   and nrow (Korn-Graubard);
# - a replicate whose proportion is 0 (svyglm's IRLS result enters the logit CI);
# - user-supplied JK1 weights (combined or multipliers, scale given or guessed), JKn rscales;
# - JKn with a fully sampled stratum and with each lonely-PSU option;
# - post-stratification and linear calibration of a JK1 design, mse = TRUE, na.rm means;
# - bootstrap and subbootstrap scales of a stratified design.
# Self-contained; run from the repository root: Rscript tests/reference/r/replicates_extra.R
suppressMessages(library(survey))
options(survey.lonely.psu = "fail", stringsAsFactors = FALSE)
root <- if (file.exists("tests/reference/make_reference.R")) "tests/reference" else "."
data_path <- function(name) file.path(root, "data", name)
CONTROL <- list(maxit = 1000, epsilon = 1e-12)

vals <- data.frame(case = character(), statistic = character(), variable = character(),
                   domain = character(), category = character(), method = character(),
                   quantity = character(), value = character())
add <- function(case, statistic, quantity, value, variable = "", domain = "", category = "",
                method = "") {
  n <- length(value)
  vals <<- rbind(vals, data.frame(
    case = case, statistic = statistic, variable = rep(variable, length.out = n),
    domain = rep(domain, length.out = n), category = rep(category, length.out = n),
    method = method, quantity = quantity, value = sprintf("%.17g", as.numeric(value))))
}
write_repweights <- function(d, name) {
  rw <- weights(d, "analysis")
  out <- data.frame(row = seq_len(nrow(rw)))
  for (j in seq_len(ncol(rw))) out[[paste0("rep", j)]] <- sprintf("%.17g", rw[, j])
  write.csv(out, data_path(name), row.names = FALSE, quote = FALSE)
}

data(api)
apiclus1$top <- apiclus1$api00 >= 845  # two schools, both in district 716
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))

basic <- function(case, d) {
  m <- svymean(~api00, d)
  add(case, "svymean", "estimate", coef(m), variable = "api00")
  add(case, "svymean", "se", SE(m), variable = "api00")
  t <- svytotal(~enroll, d)
  add(case, "svytotal", "se", SE(t), variable = "enroll")
  m <- svymean(~awards, d)
  add(case, "svymean", "se", SE(m), variable = "awards", category = c("No", "Yes"))
  add(case, "degf", "df", degf(d))
  add(case, "design", "n_replicates", ncol(weights(d, "analysis")))
}

domains <- function(case, d) {
  for (s in c("E", "H", "M")) {
    sub <- subset(d, stype == s)
    add(case, "degf", "df", degf(sub), domain = s)
  }
  for (meth in c("logit", "beta", "mean", "asin", "xlogit")) {
    r <- svyby(~I(awards == "Yes"), ~stype, d, svyciprop, vartype = c("se", "ci"),
               method = meth)
    add(case, "svyby_svyciprop", "estimate", coef(r), variable = "awards",
        domain = as.character(r$stype), category = "Yes", method = meth)
    add(case, "svyby_svyciprop", "se", SE(r), variable = "awards",
        domain = as.character(r$stype), category = "Yes", method = meth)
    add(case, "svyby_svyciprop", "ci_lower", r$ci_l, variable = "awards",
        domain = as.character(r$stype), category = "Yes", method = meth)
    add(case, "svyby_svyciprop", "ci_upper", r$ci_u, variable = "awards",
        domain = as.character(r$stype), category = "Yes", method = meth)
  }
  t <- svyby(~enroll, ~stype, d, svytotal)
  add(case, "svyby_svytotal", "se", SE(t), variable = "enroll", domain = as.character(t$stype))
}

# ---------------------------------------------------------------- JK1 (as.svrepdesign)
jk1 <- as.svrepdesign(dclus1, type = "JK1")
basic("x_apiclus1_jk1", jk1)
domains("x_apiclus1_jk1", jk1)
write_repweights(jk1, "apiclus1_jk1_repweights.csv")
for (meth in c("logit", "mean", "beta")) {
  ci <- svyciprop(~top, jk1, method = meth)
  add("x_apiclus1_jk1", "svyciprop", "estimate", coef(ci), variable = "top",
      category = "TRUE", method = meth)
  add("x_apiclus1_jk1", "svyciprop", "ci_lower", attr(ci, "ci")[1], variable = "top",
      category = "TRUE", method = meth)
  add("x_apiclus1_jk1", "svyciprop", "ci_upper", attr(ci, "ci")[2], variable = "top",
      category = "TRUE", method = meth)
}
m <- svymean(~api00, jk1, deff = "replace")
add("x_apiclus1_jk1", "svymean_deff", "deff", deff(m), variable = "api00")
m <- svymean(~awards, jk1, deff = "replace")
add("x_apiclus1_jk1", "svymean_deff", "deff", deff(m), variable = "awards",
    category = c("No", "Yes"))
ch <- svychisq(~awards + sch.wide, jk1)
add("x_apiclus1_jk1", "svychisq", "statistic", ch$statistic, variable = "awards:sch.wide")
add("x_apiclus1_jk1", "svychisq", "ddf", ch$parameter[["ddf"]], variable = "awards:sch.wide")
add("x_apiclus1_jk1", "svychisq", "p_value", ch$p.value, variable = "awards:sch.wide")
m <- svymean(~acs.k3, jk1, na.rm = TRUE)
add("x_apiclus1_jk1", "svymean_narm", "se", SE(m), variable = "acs.k3")
add("x_apiclus1_jk1", "degf_narm", "df", degf(subset(jk1, !is.na(acs.k3))), variable = "acs.k3")

jk1_mse <- as.svrepdesign(dclus1, type = "JK1", mse = TRUE)
basic("x_apiclus1_jk1_mse", jk1_mse)

# ---------------------------------------------------------------- JK1 raked, post-stratified, calibrated
jk1r <- rake(jk1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = CONTROL)
basic("x_apiclus1_jk1_raked", jk1r)
domains("x_apiclus1_jk1_raked", jk1r)
write_repweights(jk1r, "apiclus1_jk1_raked_repweights.csv")

jk1ps <- postStratify(jk1, ~stype, pop.types)
basic("x_apiclus1_jk1_poststrat", jk1ps)

jk1cal <- calibrate(jk1, ~stype + sch.wide,
                    c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122),
                    calfun = "linear")
basic("x_apiclus1_jk1_cal_linear", jk1cal)

# ---------------------------------------------------------------- user-supplied JK1 weights
rw <- weights(jk1, "analysis")
colnames(rw) <- paste0("rep", seq_len(ncol(rw)))
jk1u <- svrepdesign(data = cbind(apiclus1, rw), repweights = "rep[0-9]+", weights = ~pw,
                    type = "JK1", scale = jk1$scale, combined.weights = TRUE)
basic("x_apiclus1_jk1_user", jk1u)
jk1g <- suppressWarnings(svrepdesign(data = cbind(apiclus1, rw), repweights = "rep[0-9]+",
                                     weights = ~pw, type = "JK1", combined.weights = TRUE))
add("x_apiclus1_jk1_user_guess", "design", "scale", jk1g$scale)
m <- svymean(~api00, jk1g)
add("x_apiclus1_jk1_user_guess", "svymean", "se", SE(m), variable = "api00")

# ---------------------------------------------------------------- JKn
jkn <- as.svrepdesign(dstrat, type = "JKn")
basic("x_apistrat_jkn", jkn)
write_repweights(jkn, "apistrat_jkn_repweights.csv")
rwn <- weights(jkn, "analysis")
colnames(rwn) <- paste0("rep", seq_len(ncol(rwn)))
jknu <- svrepdesign(data = cbind(apistrat, rwn), repweights = "rep[0-9]+", weights = ~pw,
                    type = "JKn", rscales = jkn$rscales, combined.weights = TRUE)
basic("x_apistrat_jkn_user", jknu)
add("x_apistrat_jkn_user", "design", "rscales_sum", sum(jkn$rscales))

# a fully sampled stratum (fpc = sample size): R drops its replicates
full <- apistrat
full$fpc[full$stype == "H"] <- sum(full$stype == "H")
dfull <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = full, fpc = ~fpc)
jknf <- as.svrepdesign(dfull, type = "JKn")
basic("x_apistrat_full_jkn", jknf)
add("x_apistrat_full_jkn", "design", "rscales_sum", sum(jknf$rscales))

# a stratum with one PSU, each lonely-PSU option
lonely <- rbind(apistrat, transform(apistrat[1, ], stype = "X", fpc = 100))
for (opt in c("remove", "certainty", "average", "adjust")) {
  options(survey.lonely.psu = opt)
  dl <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely, fpc = ~fpc)
  jl <- as.svrepdesign(dl, type = "JKn")
  m <- svymean(~api00, jl)
  add("x_apistrat_lonely_jkn", "svymean", "se", SE(m), variable = "api00", method = opt)
  add("x_apistrat_lonely_jkn", "degf", "df", degf(jl), method = opt)
  add("x_apistrat_lonely_jkn", "design", "scale", jl$scale, method = opt)
  add("x_apistrat_lonely_jkn", "design", "n_replicates", ncol(weights(jl, "analysis")),
      method = opt)
}
options(survey.lonely.psu = "fail")

# ---------------------------------------------------------------- bootstrap scales
set.seed(1)
add("x_apistrat_boot", "design", "scale",
    as.svrepdesign(dstrat, type = "bootstrap", replicates = 50)$scale)
add("x_apistrat_subboot", "design", "scale",
    as.svrepdesign(dstrat, type = "subbootstrap", replicates = 50)$scale)
add("x_apiclus1_boot", "design", "scale",
    as.svrepdesign(dclus1, type = "bootstrap", replicates = 50)$scale)

write.csv(vals, file.path(root, "values", "replicates_extra.csv"), row.names = FALSE,
          quote = TRUE)
