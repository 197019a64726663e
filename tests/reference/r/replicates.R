# Replicate-weight reference cases: JK1 (before and after raking), JKn, and bootstrap
# replicate weights exported so the Python side can read them back as user-supplied weights.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
data(api)
vals <- new_values()
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))

stats_for <- function(vals, case, d) {
  m <- svymean(~api00, d)
  vals <- add(vals, case, "svymean", "estimate", coef(m), variable = "api00")
  vals <- add(vals, case, "svymean", "se", SE(m), variable = "api00")
  t <- svytotal(~enroll, d)
  vals <- add(vals, case, "svytotal", "estimate", coef(t), variable = "enroll")
  vals <- add(vals, case, "svytotal", "se", SE(t), variable = "enroll")
  m <- svymean(~awards, d)
  vals <- add(vals, case, "svymean", "estimate", coef(m), variable = "awards", category = c("No", "Yes"))
  vals <- add(vals, case, "svymean", "se", SE(m), variable = "awards", category = c("No", "Yes"))
  for (meth in c("logit", "beta", "mean", "asin")) {
    ci <- svyciprop(~I(awards == "Yes"), d, method = meth)
    vals <- add(vals, case, "svyciprop", "ci_lower", attr(ci, "ci")[1], variable = "awards",
                category = "Yes", method = meth)
    vals <- add(vals, case, "svyciprop", "ci_upper", attr(ci, "ci")[2], variable = "awards",
                category = "Yes", method = meth)
  }
  m <- svyby(~api00, ~stype, d, svymean)
  vals <- add(vals, case, "svyby_svymean", "se", SE(m), variable = "api00",
              domain = as.character(m$stype))
  vals <- add(vals, case, "degf", "df", degf(d))
  vals <- add(vals, case, "design", "scale", d$scale)
  vals
}

jk1 <- as.svrepdesign(dclus1, type = "JK1")
vals <- stats_for(vals, "apiclus1_jk1", jk1)
jk1r <- rake(jk1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = CONTROL)
vals <- stats_for(vals, "apiclus1_jk1_raked", jk1r)
jkn <- as.svrepdesign(dstrat, type = "JKn")
vals <- stats_for(vals, "apistrat_jkn", jkn)
vals <- add(vals, "apistrat_jkn", "design", "rscales_sum", sum(jkn$rscales))

set.seed(20261123)
boot <- as.svrepdesign(dclus1, type = "bootstrap", replicates = 50)
vals <- stats_for(vals, "apiclus1_boot", boot)
rw <- weights(boot, "analysis")
colnames(rw) <- paste0("rep", seq_len(ncol(rw)))
write.csv(cbind(apiclus1, rw), data_path("apiclus1_boot_repweights.csv"), row.names = FALSE, na = "")
vals <- add(vals, "apiclus1_boot", "design", "rscales", boot$rscales[1])
for (mse in c(TRUE)) {
  b2 <- svrepdesign(data = cbind(apiclus1, rw), repweights = "rep[0-9]+", weights = ~pw,
                    type = "bootstrap", combined.weights = TRUE, scale = boot$scale,
                    rscales = boot$rscales, mse = TRUE)
  m <- svymean(~api00, b2)
  vals <- add(vals, "apiclus1_boot_mse", "svymean", "se", SE(m), variable = "api00")
}
write_values(vals, "replicates.csv")
