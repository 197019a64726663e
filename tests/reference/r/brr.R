# Issue #16 BRR and Fay reference: a design with exactly two PSUs per stratum built from
# apistrat (within each school type, schools in snum order form PSUs of 5 schools, and
# consecutive PSU pairs form 20 variance strata); as.svrepdesign(type = "BRR") and
# (type = "Fay", fay.rho = 0.3), their replicate weights, R's Hadamard matrix and the 0/1
# PSU-half assignment, and estimates with SEs (svymean, svytotal, svyratio, svyvar,
# svyquantile, svyby, svyglm), against the linearised design.
# Writes tests/reference/data/apistrat_brr.csv, apistrat_{brr,fay}_repweights.csv,
# hadamard_20.csv and tests/reference/values/brr.csv. Run from the repository root.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common16.R"))
vals <- new_values()
df <- apistrat16[order(apistrat16$stype, apistrat16$snum), ]
df$vpsu <- NA_integer_
df$vstrat <- NA_integer_
off_psu <- 0L
off_str <- 0L
for (s in c("E", "H", "M")) {
  i <- which(df$stype == s)
  k <- length(i) %/% 5                                  # PSUs of 5 schools
  df$vpsu[i] <- off_psu + rep(seq_len(k), each = 5)
  df$vstrat[i] <- off_str + rep(seq_len(k / 2), each = 10)
  off_psu <- off_psu + k
  off_str <- off_str + k / 2
}
rownames(df) <- NULL
write_data(df, "apistrat_brr.csv")
lin <- svydesign(ids = ~vpsu, strata = ~vstrat, weights = ~pw, data = df)
stopifnot(all(table(df$vstrat[!duplicated(df$vpsu)]) == 2))

brr_r <- as.svrepdesign(lin, type = "BRR")
fay_r <- as.svrepdesign(lin, type = "Fay", fay.rho = 0.3)
write_repweights16(brr_r, "apistrat_brr_repweights.csv")
write_repweights16(fay_r, "apistrat_fay_repweights.csv")
# R's assignment (survey:::brrweights): strata are numbered 1..20 in the order of their
# labels sorted *as character strings* ("1", "10", "11", ..., "19", "2", "20", "3", ...);
# within a stratum the PSU that appears first in the data is "up": it gets 2 - rho in
# replicate r when H[1 + s, r] == 1, and rho otherwise (the other PSU the reverse).
H <- survey:::hadamard(20)
write.csv(H, data_path("hadamard_20.csv"), row.names = FALSE)
vals <- add(vals, "hadamard", "design", "n_rows", nrow(H))
vals <- add(vals, "hadamard", "design", "n_cols", ncol(H))
bw <- survey:::brrweights(lin$strata[, 1], lin$cluster[, 1], only.weights = FALSE)
up <- bw$weights[, 2] == 1
vals <- add(vals, "brr_structure", "design", "stratum_number", bw$wstrata[up],
            category = as.character(bw$strata[up]))
vals <- add(vals, "brr_structure", "design", "up_psu", bw$psu[up],
            category = as.character(bw$strata[up]))
# rebuild both replicate-weight sets from that rule and check them against R's
rebuild <- function(rho) {
  s_num <- bw$wstrata[match(df$vpsu, bw$psu)]
  is_up <- up[match(df$vpsu, bw$psu)]
  sapply(seq_len(ncol(H)), function(r) {
    h1 <- H[1 + s_num, r] == 1
    df$pw * ifelse(h1 == is_up, 2 - rho, rho)
  })
}
stopifnot(max(abs(rebuild(0) - weights(brr_r, "analysis"))) < 1e-9,
          max(abs(rebuild(0.3) - weights(fay_r, "analysis"))) < 1e-9)
first_in_data <- tapply(seq_len(nrow(df)), df$vstrat, min)
stopifnot(all(bw$psu[up] == df$vpsu[first_in_data[as.character(bw$strata[up])]]))

read_rw <- function(name) as.matrix(read.csv(data_path(name))[, -1])
brr <- svrepdesign(data = df, repweights = read_rw("apistrat_brr_repweights.csv"),
                   weights = df$pw, type = "BRR", combined.weights = TRUE, mse = FALSE)
fay <- svrepdesign(data = df, repweights = read_rw("apistrat_fay_repweights.csv"),
                   weights = df$pw, type = "Fay", rho = 0.3, combined.weights = TRUE,
                   mse = FALSE)
stopifnot(isTRUE(all.equal(brr$scale, brr_r$scale)), isTRUE(all.equal(fay$scale, fay_r$scale)))
# R's own objects agree with the ones read back from the CSVs
stopifnot(isTRUE(all.equal(SE(svymean(~api00, brr)), SE(svymean(~api00, brr_r)),
                           tolerance = 1e-14)),
          isTRUE(all.equal(SE(svymean(~api00, fay)), SE(svymean(~api00, fay_r)),
                           tolerance = 1e-14)))
designs <- list(apistrat_brr_linear = lin, apistrat_brr = brr, apistrat_fay = fay,
                apistrat_brr_mse = svrepdesign(data = df, repweights = weights(brr_r, "analysis"),
                                               weights = df$pw, type = "BRR",
                                               combined.weights = TRUE, mse = TRUE))
for (case in names(designs)) {
  d <- designs[[case]]
  if (inherits(d, "svyrep.design")) {
    vals <- add_rep_facts(vals, case, d)
    vals <- add(vals, case, "design", "rho", if (is.null(d$rho)) 0 else d$rho)
  } else {
    vals <- add(vals, case, "degf", "df", degf(d))
  }
  m <- svymean(~api00 + enroll, d)
  vals <- add(vals, case, "svymean", "estimate", coef(m), variable = c("api00", "enroll"))
  vals <- add(vals, case, "svymean", "se", SE(m), variable = c("api00", "enroll"))
  vals <- add(vals, case, "svymean", "vcov", as.vector(vcov(m)),
              variable = c("api00|api00", "enroll|api00", "api00|enroll", "enroll|enroll"))
  ci <- confint(m, df = degf(d))
  vals <- add(vals, case, "svymean", "ci_lower", ci[, 1], variable = c("api00", "enroll"),
              method = "t_degf")
  vals <- add(vals, case, "svymean", "ci_upper", ci[, 2], variable = c("api00", "enroll"),
              method = "t_degf")
  t <- svytotal(~enroll, d)
  vals <- add(vals, case, "svytotal", "estimate", coef(t), variable = "enroll")
  vals <- add(vals, case, "svytotal", "se", SE(t), variable = "enroll")
  m <- svymean(~sch.wide, d)
  vals <- add(vals, case, "svymean", "estimate", coef(m), variable = "sch.wide",
              category = c("No", "Yes"))
  vals <- add(vals, case, "svymean", "se", SE(m), variable = "sch.wide",
              category = c("No", "Yes"))
  r <- svyratio(~api.stu, ~enroll, d)
  vals <- add(vals, case, "svyratio", "estimate", coef(r), variable = "api.stu/enroll")
  vals <- add(vals, case, "svyratio", "se", SE(r), variable = "api.stu/enroll")
  v <- svyvar(~api00, d)
  vals <- add(vals, case, "svyvar", "estimate", coef(v), variable = "api00")
  vals <- add(vals, case, "svyvar", "se", SE(v), variable = "api00")
  b <- svyby(~api00, ~stype, d, svymean)
  vals <- add(vals, case, "svyby_svymean", "estimate", coef(b), variable = "api00",
              domain = as.character(b$stype))
  vals <- add(vals, case, "svyby_svymean", "se", SE(b), variable = "api00",
              domain = as.character(b$stype))
  its <- if (inherits(d, "svyrep.design")) c("mean", "quantile") else c("mean", "score")
  for (it in its) {
    q <- svyquantile(~api00, d, c(0.25, 0.5, 0.75), interval.type = it)[[1]]
    cat_ <- c("0.25", "0.5", "0.75")
    vals <- add(vals, case, "svyquantile", "estimate", q[, 1], variable = "api00",
                category = cat_, method = paste0("math|", it))
    vals <- add(vals, case, "svyquantile", "ci_lower", q[, 2], variable = "api00",
                category = cat_, method = paste0("math|", it))
    vals <- add(vals, case, "svyquantile", "ci_upper", q[, 3], variable = "api00",
                category = cat_, method = paste0("math|", it))
    vals <- add(vals, case, "svyquantile", "se", q[, 4], variable = "api00",
                category = cat_, method = paste0("math|", it))
  }
  for (mod in list(list(f = api00 ~ ell + meals + stype, fam = gaussian(), nm = "gaussian"),
                   list(f = sw ~ ell + stype, fam = quasibinomial(), nm = "quasibinomial"))) {
    fit <- svyglm(mod$f, design = d, family = mod$fam,
                  control = glm.control(epsilon = 1e-12, maxit = 100))
    cf <- summary(fit)$coefficients
    vals <- add(vals, case, "svyglm", "estimate", cf[, 1], variable = mod$nm,
                category = rownames(cf))
    vals <- add(vals, case, "svyglm", "se", cf[, 2], variable = mod$nm, category = rownames(cf))
    vals <- add(vals, case, "svyglm", "p_value", cf[, 4], variable = mod$nm,
                category = rownames(cf))
    vals <- add(vals, case, "svyglm", "df_residual", fit$df.residual, variable = mod$nm)
    ci <- confint(fit)
    vals <- add(vals, case, "svyglm", "ci_lower", ci[, 1], variable = mod$nm,
                category = rownames(cf), method = "Wald_t")
    vals <- add(vals, case, "svyglm", "ci_upper", ci[, 2], variable = mod$nm,
                category = rownames(cf), method = "Wald_t")
  }
}
write_values16(vals, "brr.csv")
