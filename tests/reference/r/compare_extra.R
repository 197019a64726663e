# Comparison reference cases added for issue #12 (items 9-11, 13):
#  * CIs of each tier's share as R svyciprop (logit, beta) on the tier's own design;
#  * the omnibus test that a whole distribution is the same in both tiers: the Wald
#    statistic from R's svymean covariances of both tiers, scaled as R svychisq's
#    statistic = "adjWald" (F = W (d - p + 1) / (d p) on (p, d - p + 1)), d the
#    Satterthwaite df of the summed covariance's trace;
#  * representativeness' adjusted Wald F (single and joint margins), same scaling;
#  * the composition-adjusted gap: Tier 1 raked (R rake) to Tier 3's weighted profile on
#    sex and age, difference of svymeans, linearised SE (profile fixed) and the SE from R
#    bootstrap replicate weights (written to data/ for the Python side to use as given):
#    Tier 1's raking re-run per Tier 1 replicate (profile fixed) plus, per Tier 3 replicate
#    (Tier 3's raking replayed), Tier 3's profile and share re-estimated and Tier 1
#    re-raked to that profile.
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
d3 <- svydesign(ids = ~1, data = t3, weights = ~one)
r3 <- rake3(d3)

# ---- CIs of each tier's share (item 10)
for (meth in c("logit", "beta")) {
  ci <- svyciprop(~post_inc, d1, method = meth)
  vals <- add(vals, "tier1_example", "svyciprop", c("ci_lower", "ci_upper"),
              as.numeric(confint(ci)), variable = "q_pact_post", category = PACT, method = meth)
  ci <- svyciprop(~pre_inc, d1, method = meth)
  vals <- add(vals, "tier1_example", "svyciprop", c("ci_lower", "ci_upper"),
              as.numeric(confint(ci)), variable = "q_pact_pre", category = PACT, method = meth)
  ci <- svyciprop(~inc, r3, method = meth)
  vals <- add(vals, "tier3_example_raked", "svyciprop", c("ci_lower", "ci_upper"),
              as.numeric(confint(ci)), variable = "q_pact", category = PACT, method = meth)
}

# ---- adjusted Wald F (svychisq's adjWald scaling) from a difference and its covariance
adj_wald <- function(d, V, nu) {
  k <- length(d)
  p <- k - 1
  w <- as.numeric(t(d[-k]) %*% solve(V[-k, -k, drop = FALSE], d[-k]))
  den <- nu - p + 1
  f <- w * den / (nu * p)
  c(W = w, F = f, ndf = p, ddf = den, p = pf(f, p, den, lower.tail = FALSE))
}
add_wald <- function(vals, case, res, variable) {
  add(vals, case, "adjWald", c("W", "F", "ndf", "ddf", "p_value"), res, variable = variable)
}

# ---- omnibus test of a whole distribution, Tier 1 (post) against Tier 3 (item 9)
for (q in c("q_pact", "q_charge")) {
  m1 <- svymean(as.formula(paste0("~factor(", q, "_post)")), d1)
  m3 <- svymean(as.formula(paste0("~factor(", q, ")")), r3)
  V1 <- vcov(m1); V3 <- vcov(m3)
  tr1 <- sum(diag(V1)); tr3 <- sum(diag(V3))
  nu <- (tr1 + tr3)^2 / (tr1^2 / degf(d1) + tr3^2 / degf(r3))
  res <- adj_wald(as.numeric(coef(m1) - coef(m3)), V1 + V3, nu)
  vals <- add_wald(vals, "omnibus_tier1_tier3", res, q)
  vals <- add(vals, "omnibus_tier1_tier3", "satterthwaite", "df", nu, variable = q)
}

# ---- representativeness: Tier 1 against Tier 3's weighted age profile; Tier 3 unweighted
# against its raked sex x age cells (a joint margin) (item 13)
prof <- coef(svymean(~factor(age_group), r3))
m <- svymean(~factor(age_group), d1)
vals <- add_wald(vals, "repr_tier1_age", adj_wald(as.numeric(coef(m) - prof), vcov(m), degf(d1)),
                 "age_group")
t3$sex_age <- paste(t3$sex, t3$age_group, sep = "|")
d3 <- svydesign(ids = ~1, data = t3, weights = ~one)
r3 <- rake3(d3)
joint <- coef(svymean(~factor(sex_age), r3))
m <- svymean(~factor(sex_age), d3)
vals <- add_wald(vals, "repr_tier3_sex_age", adj_wald(as.numeric(coef(m) - joint), vcov(m),
                                                      degf(d3)), "sex|age_group")

# ---- composition-adjusted gap (item 11)
covs <- c("sex", "age_group")
profile_of <- function(w) lapply(covs, function(v) {
  s <- tapply(w, t3[[v]], sum); m <- data.frame(names(s), as.numeric(s))
  names(m) <- c(v, "Freq"); m })
rake1 <- function(d, prof) rake(d, lapply(covs, function(v) as.formula(paste0("~", v))), prof,
                                control = CONTROL)
full_prof <- profile_of(weights(r3))
a1 <- rake1(d1, full_prof)
e3 <- svymean(~inc, r3)
for (y in c("post_inc", "pre_inc")) {
  ea <- svymean(as.formula(paste0("~", y)), a1)
  vals <- add(vals, "adjusted_gap", "svymean", "estimate", coef(ea) - coef(e3), variable = y)
  vals <- add(vals, "adjusted_gap", "svymean", "se_fixed_profile", sqrt(SE(ea)^2 + SE(e3)^2),
              variable = y)
}
set.seed(20260412)
b1 <- as.svrepdesign(d1, type = "bootstrap", replicates = 40)
b3 <- as.svrepdesign(d3, type = "bootstrap", replicates = 40)
rw1 <- weights(b1, "analysis"); colnames(rw1) <- paste0("rw_", seq_len(ncol(rw1)))
rw3 <- weights(b3, "analysis"); colnames(rw3) <- paste0("rw_", seq_len(ncol(rw3)))
write.csv(data.frame(participant_id = t1$participant_id, rw1),
          data_path("tier1_boot_repweights.csv"), row.names = FALSE)
write.csv(data.frame(respondent_id = seq_len(nrow(t3)), rw3),
          data_path("tier3_boot_repweights.csv"), row.names = FALSE)
vals <- add(vals, "adjusted_gap", "design", "scale", b1$scale, method = "tier1")
vals <- add(vals, "adjusted_gap", "design", "scale", b3$scale, method = "tier3")
# the same replicate weights as given data (Python reads them from the CSV files)
s1 <- svrepdesign(data = cbind(t1, rw1), repweights = "rw_[0-9]+", weights = ~one,
                  type = "bootstrap", combined.weights = TRUE, scale = b1$scale, rscales = 1)
s3 <- svrepdesign(data = cbind(t3, rw3), repweights = "rw_[0-9]+", weights = ~one,
                  type = "bootstrap", combined.weights = TRUE, scale = b3$scale, rscales = 1)
s3r <- rake3(s3)
sa1 <- rake1(s1, profile_of(weights(s3r, "sampling")))  # Tier 1's raking re-run on each Tier 1 replicate
rep3 <- weights(s3r, "analysis")
for (y in c("post_inc", "pre_inc")) {
  v1 <- SE(svymean(as.formula(paste0("~", y)), sa1))^2
  gaps <- sapply(seq_len(ncol(rep3)), function(r) {
    w <- rep3[, r]
    ar <- rake1(d1, profile_of(w))
    coef(svymean(as.formula(paste0("~", y)), ar)) - sum(w * t3$inc) / sum(w)
  })
  v3 <- s3$scale * sum((gaps - mean(gaps))^2)
  vals <- add(vals, "adjusted_gap", "bootstrap", "se", sqrt(v1 + v3), variable = y)
  vals <- add(vals, "adjusted_gap", "bootstrap", "se_tier1_part", sqrt(v1), variable = y)
}
write_values(vals, "compare_extra.csv")
