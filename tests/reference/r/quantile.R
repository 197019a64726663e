# Issue #16 quantile reference: svyquantile with every qrule (math = R's default, school,
# shahvaish, hf1-hf9) and every interval.type (mean = R's default Woodruff interval, beta,
# xlogit, asin, score on linearised designs; quantile on replicate designs), for p = 0.1,
# 0.25, 0.5, 0.75, 0.9, on stratified, clustered, raked, two-stage and JK1/bootstrap designs,
# plus svyby(svyquantile) by domain and alpha = 0.1. Writes tests/reference/values/quantile.csv.
# Run from the repository root: Rscript tests/reference/r/quantile.R   Spec: SPEC_16.md.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common16.R"))
vals <- new_values()
PROBS <- c(0.1, 0.25, 0.5, 0.75, 0.9)
QRULES <- c("math", "school", "shahvaish", "hf1", "hf2", "hf3", "hf4", "hf5", "hf6", "hf7",
            "hf8", "hf9")

record_q <- function(vals, case, v, q, method, domain = "") {
  r <- q[[1]]                          # rows: probabilities; cols: quantile, ci.lo, ci.hi, se
  cat <- format(as.numeric(rownames(r)))
  cat <- as.character(as.numeric(rownames(r)))
  vals <- add(vals, case, "svyquantile", "estimate", r[, 1], variable = v, category = cat,
              method = method, domain = domain)
  if (ncol(r) >= 4) {
    vals <- add(vals, case, "svyquantile", "ci_lower", r[, 2], variable = v, category = cat,
                method = method, domain = domain)
    vals <- add(vals, case, "svyquantile", "ci_upper", r[, 3], variable = v, category = cat,
                method = method, domain = domain)
    vals <- add(vals, case, "svyquantile", "se", r[, 4], variable = v, category = cat,
                method = method, domain = domain)
  }
  vals
}

lin <- list(apistrat = list(d = dstrat, v = c("api00", "enroll")),
            apiclus1 = list(d = dclus1, v = c("api00", "enroll")),
            apistrat_raked = list(d = rstrat, v = c("api00", "enroll")),
            apiclus2 = list(d = dclus2, v = c("api00")),
            england_raked = list(d = eng, v = c("trust", "income")))
for (case in names(lin)) {
  d <- lin[[case]]$d
  vals <- add(vals, case, "degf", "df", degf(d))
  for (v in lin[[case]]$v) {
    f <- as.formula(paste0("~", v))
    for (qr in QRULES) {
      q <- svyquantile(f, d, PROBS, qrule = qr, interval.type = "mean")
      vals <- record_q(vals, case, v, q, paste0(qr, "|mean"))
    }
    for (it in c("beta", "xlogit", "asin", "score")) {
      q <- svyquantile(f, d, PROBS, qrule = "math", interval.type = it)
      vals <- record_q(vals, case, v, q, paste0("math|", it))
    }
    q <- svyquantile(f, d, PROBS, qrule = "hf7", interval.type = "score")
    vals <- record_q(vals, case, v, q, "hf7|score")
    q <- svyquantile(f, d, PROBS, alpha = 0.1)
    vals <- record_q(vals, case, v, q, "math|mean|alpha0.1")
    q <- svyquantile(f, d, PROBS, df = Inf)
    vals <- record_q(vals, case, v, q, "math|mean|dfInf")
  }
}

for (case in names(REP_DESIGNS)) {
  d <- REP_DESIGNS[[case]]
  vals <- add_rep_facts(vals, case, d)
  for (v in c("api00", "enroll")) {
    f <- as.formula(paste0("~", v))
    for (qr in c("math", "school", "hf7", "hf8")) {
      for (it in c("mean", "beta", "xlogit", "asin", "quantile")) {
        q <- suppressWarnings(svyquantile(f, d, PROBS, qrule = qr, interval.type = it))
        vals <- record_q(vals, case, v, q, paste0(qr, "|", it))
      }
    }
    for (it in c("mean", "quantile")) {
      q <- suppressWarnings(svyquantile(f, d, PROBS, interval.type = it, alpha = 0.1))
      vals <- record_q(vals, case, v, q, paste0("math|", it, "|alpha0.1"))
    }
  }
}

# ---------------------------------------------------------------- by domain
by_cases <- list(apistrat = dstrat, apiclus1 = dclus1, apistrat_raked = rstrat,
                 apiclus1_boot = boot)
for (case in names(by_cases)) {
  d <- by_cases[[case]]
  # (alpha = 0.1: the 90% intervals QuantileEstimate.conf_int(0.9) recomputes)
  for (spec in list(c("mean", "0.05", ""), c("beta", "0.05", ""),
                    c("mean", "0.1", "|alpha0.1"))) {
    it <- spec[1]
    meth <- paste0("math|", it, spec[3])
    b <- svyby(~api00, ~stype, d, svyquantile, quantiles = c(0.25, 0.5, 0.75),
               interval.type = it, alpha = as.numeric(spec[2]), ci = TRUE,
               vartype = c("se", "ci"))
    for (s in as.character(b$stype)) {
      row <- b[b$stype == s, ]
      for (p in c(0.25, 0.5, 0.75)) {
        vals <- add(vals, case, "svyby_svyquantile", "estimate", row[[paste0("api00.", p)]],
                    variable = "api00", domain = s, category = as.character(p),
                    method = meth)
        vals <- add(vals, case, "svyby_svyquantile", "se", row[[paste0("se.api00.", p)]],
                    variable = "api00", domain = s, category = as.character(p),
                    method = meth)
        vals <- add(vals, case, "svyby_svyquantile", "ci_lower",
                    row[[paste0("ci_l.api00.", p)]], variable = "api00", domain = s,
                    category = as.character(p), method = meth)
        vals <- add(vals, case, "svyby_svyquantile", "ci_upper",
                    row[[paste0("ci_u.api00.", p)]], variable = "api00", domain = s,
                    category = as.character(p), method = meth)
      }
    }
  }
  # the df each domain's interval used (degf of the domain subset)
  for (s in c("E", "H", "M")) {
    sub <- subset(d, stype == s)
    vals <- add(vals, case, "degf", "df", degf(sub), domain = s)
    # the same quantiles computed directly on the subset (equal to svyby's)
    q <- svyquantile(~api00, sub, c(0.25, 0.5, 0.75))
    vals <- record_q(vals, case, "api00", q, "math|mean|subset", domain = s)
  }
}
# England: median trust by age group (many ties), raked
b <- svyby(~trust, ~age_group, eng, svyquantile, quantiles = 0.5, ci = TRUE,
           vartype = c("se", "ci"))
for (s in as.character(b$age_group)) {
  row <- b[b$age_group == s, ]
  vals <- add(vals, "england_raked", "svyby_svyquantile", "estimate", row$trust,
              variable = "trust", domain = s, category = "0.5", method = "math|mean")
  vals <- add(vals, "england_raked", "svyby_svyquantile", "se", row$se, variable = "trust",
              domain = s, category = "0.5", method = "math|mean")
  vals <- add(vals, "england_raked", "svyby_svyquantile", "ci_lower", row$ci_l,
              variable = "trust", domain = s, category = "0.5", method = "math|mean")
  vals <- add(vals, "england_raked", "svyby_svyquantile", "ci_upper", row$ci_u,
              variable = "trust", domain = s, category = "0.5", method = "math|mean")
}

for (s in levels(eng_df$age_group))
  vals <- add(vals, "england_raked", "degf", "df", degf(subset(eng, age_group == s)), domain = s)

write_values16(vals, "quantile.csv")
