# Banner letters reference: pairwise domain contrasts (svyby + svycontrast) for one question
# by one banner variable on the clustered apiclus1 design; the Python test derives the
# letters from these p-values and compares them with banner().
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
data(api)
vals <- new_values()
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
b <- svyby(~awards, ~stype, dclus1, svymean, covmat = TRUE)
labs <- c("E", "H", "M")
for (lev in c("No", "Yes")) {
  for (i in 1:2) for (j in (i + 1):3) {
    cf <- setNames(rep(0, 6), names(coef(b)))
    cf[paste0(labs[i], ":awards", lev)] <- 1
    cf[paste0(labs[j], ":awards", lev)] <- -1
    ct <- svycontrast(b, cf)
    t <- coef(ct) / SE(ct)
    p <- 2 * pt(-abs(t), degf(dclus1))
    dom <- paste(labs[i], labs[j], sep = "-")
    vals <- add(vals, "apiclus1", "banner_pair", "estimate", coef(ct), variable = "awards",
                domain = dom, category = lev)
    vals <- add(vals, "apiclus1", "banner_pair", "p_value", p, variable = "awards",
                domain = dom, category = lev)
  }
}
write_values(vals, "banner.csv")
