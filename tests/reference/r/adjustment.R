# Composition adjustment of Tier 1 to Tier 3's profile by propensity weighting and by
# entropy balancing (issue #17), on the bundled example cohort (Tier 3 raked to the England
# margins; Tier 1 clustered by discussion group, weights 1), covariates sex and age_group:
#  * propensity (Tier 3 weighted by its design's analysis weights, here the raked ones):
#    svyglm(in_t1 ~ sex + age_group, family = quasibinomial()) on both tiers
#    stacked (Tier 1 weight 1, Tier 3 its raked weights); Tier 1 reweighted by (1-p)/p; the
#    coefficients and the adjusted shares of "Increase confidence" after and before;
#  * entropy: calibrate(d1, ~sex + age_group, population = Tier 3's weighted totals scaled to
#    Tier 1's n, calfun = "raking"); adjusted shares and their (calibration-aware) SE;
#  * both with the bootstrap replicate SE of the adjusted gap on the replicate weights written
#    by compare_extra.R (the adjustment re-run on every Tier 1 and every Tier 3 replicate).
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
vals <- new_values()
t1 <- read.csv("data/example/tier1.csv", stringsAsFactors = FALSE, na.strings = "")
t3 <- read.csv("data/example/tier3.csv", stringsAsFactors = FALSE, na.strings = "")
tg <- read.csv("data/population/england_adult_targets.csv", stringsAsFactors = FALSE)
PACT <- "Increase confidence"
t1$post_inc <- as.numeric(t1$q_pact_post == PACT)
t1$pre_inc <- as.numeric(t1$q_pact_pre == PACT)
t3$inc <- as.numeric(t3$q_pact == PACT)
t1$one <- 1
t3$one <- 1
vars <- c("sex", "age_group", "region", "education", "ethnicity")
margins <- lapply(vars, function(v) {
  t <- tg[tg$variable == v, ]
  m <- data.frame(t$category, t$target * nrow(t3)); names(m) <- c(v, "Freq"); m })
rake3 <- function(d) rake(d, lapply(vars, function(v) as.formula(paste0("~", v))), margins,
                          control = CONTROL)
d1 <- svydesign(ids = ~group_id, data = t1, weights = ~one)
r3 <- rake3(svydesign(ids = ~1, data = t3, weights = ~one))
covs <- c("sex", "age_group")
ok <- !is.na(t1$q_pact_pre) & !is.na(t1$q_pact_post)
lev <- lapply(covs, function(v) sort(unique(c(t1[[v]], t3[[v]]))))
names(lev) <- covs

prop_w <- function(w1, w3) {
  st <- rbind(t1[, covs], t3[, covs])
  for (v in covs) st[[v]] <- factor(st[[v]], levels = lev[[v]])
  st$in_t1 <- c(rep(1, nrow(t1)), rep(0, nrow(t3)))
  st$w <- c(w1, w3)
  ds <- svydesign(ids = ~1, data = st[st$w > 0, ], weights = ~w)
  fit <- svyglm(in_t1 ~ sex + age_group, design = ds, family = quasibinomial(),
                control = glm.control(epsilon = 1e-14, maxit = 100))
  eta <- predict(fit, newdata = st[seq_len(nrow(t1)), ], type = "link")
  list(w = w1 * exp(-as.numeric(eta)), coef = coef(fit))
}
ent_w <- function(d, w3) {
  tot <- c(1, unlist(lapply(covs, function(v) {
    s <- tapply(w3, factor(t3[[v]], levels = lev[[v]]), sum) / sum(w3); s[-1] })))
  calibrate(d, ~sex + age_group, population = tot * nrow(t1), calfun = "raking",
            epsilon = 1e-12, maxit = 1000)
}
share <- function(w, y) sum(w[ok] * t1[[y]][ok]) / sum(w[ok])
w3 <- weights(r3)
e3 <- sum(w3 * t3$inc) / sum(w3)
pf <- prop_w(rep(1, nrow(t1)), w3)
vals <- add(vals, "propensity", "svyglm", "coef", pf$coef, variable = names(pf$coef))
cal <- ent_w(d1, w3)
for (y in c("post_inc", "pre_inc")) {
  vals <- add(vals, "propensity", "adjusted_share", "estimate", share(pf$w, y), variable = y)
  vals <- add(vals, "propensity", "adjusted_gap", "estimate", share(pf$w, y) - e3, variable = y)
  t1$pw <- pf$w  # the propensity weights taken as fixed (the variance="fixed" SE)
  mp <- svymean(as.formula(paste0("~", y)), subset(svydesign(ids = ~group_id, data = t1, weights = ~pw), ok))
  vals <- add(vals, "propensity", "adjusted_share", "se_fixed_weights", SE(mp), variable = y)
  we <- weights(cal)
  vals <- add(vals, "entropy", "adjusted_gap", "estimate", share(we, y) - e3, variable = y)
  m <- svymean(as.formula(paste0("~", y)), subset(cal, ok))
  vals <- add(vals, "entropy", "adjusted_share", "se_fixed_profile", SE(m), variable = y)
}
vals <- add(vals, "propensity", "kish", "n_eff", sum(pf$w)^2 / sum(pf$w^2))

# replicate SEs on compare_extra.R's bootstrap replicate weights (Tier 1, Tier 3 raked)
rw1 <- read.csv(data_path("tier1_boot_repweights.csv"))
rw3 <- read.csv(data_path("tier3_boot_repweights.csv"))
cols <- grep("^rw_", names(rw1), value = TRUE)
ref <- read.csv(values_path("compare_extra.csv"), stringsAsFactors = FALSE)
scale_of <- function(m) as.numeric(ref$value[ref$case == "adjusted_gap" & ref$statistic == "design" & ref$method == m])
s3 <- svrepdesign(data = cbind(t3, rw3[, cols]), repweights = "rw_[0-9]+", weights = ~one,
                  type = "bootstrap", combined.weights = TRUE, scale = scale_of("tier3"), rscales = 1)
rep3 <- weights(rake3(s3), "analysis")
rep1 <- as.matrix(rw1[, cols])
for (y in c("post_inc", "pre_inc")) {
  for (meth in c("propensity", "entropy")) {
    adj <- function(w1, w3) {
      if (meth == "propensity") return(prop_w(w1, w3)$w)
      t1$w1x <- w1
      weights(ent_w(svydesign(ids = ~group_id, data = t1, weights = ~w1x), w3))
    }
    th1 <- apply(rep1, 2, function(w) share(adj(w, w3), y))
    v1 <- scale_of("tier1") * sum((th1 - mean(th1))^2)
    g3 <- apply(rep3, 2, function(w) share(adj(rep(1, nrow(t1)), w), y) - sum(w * t3$inc) / sum(w))
    v3 <- scale_of("tier3") * sum((g3 - mean(g3))^2)
    vals <- add(vals, meth, "bootstrap", "se", sqrt(v1 + v3), variable = y)
  }
}
write_values(vals, "adjustment.csv")
