# Bounded calibration (R grake: bounds on g = new / starting weight, the starting weights
# rescaled only when every population total exceeds 20 x the sample total) and trimWeights
# (additive redistribution, strict = FALSE / TRUE). Input: england_like.csv (weighting.R).
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
df <- read.csv(data_path("england_like.csv"), stringsAsFactors = TRUE)
tg <- read.csv(data_path("england_like_targets.csv"))
n <- nrow(df)
vars <- c("sex", "age_group", "region", "education")
# factor levels in the targets' order, as delibpoll orders the calibration model's columns
# (grake's rescaling rule uses the model matrix columns, so the omitted level matters)
lv <- lapply(setNames(vars, vars), function(v) tg$category[tg$variable == v])
for (v in vars) df[[v]] <- factor(as.character(df[[v]]), levels = lv[[v]])
share <- function(v) { t <- tg[tg$variable == v, ]; setNames(t$target, t$category)[lv[[v]]] }
margin <- function(v, N) { m <- data.frame(lv[[v]], share(v) * N); names(m) <- c(v, "Freq"); m }
totals <- function(N) {
  pop <- c(`(Intercept)` = N)
  for (v in vars) { p <- share(v) * N; names(p) <- paste0(v, lv[[v]]); pop <- c(pop, p[-1]) }
  pop
}
f <- ~sex + age_group + region + education
vals <- new_values()

# ---------------------------------------------------------------- raked sample, 1.25 x scale
# a panel raked to sex and age (population 2000), its weights then put on a 1.25 x larger
# scale: calibrating to 2000 needs g near 0.8, which the bounds (on the starting weights)
# must allow
N <- 2000
d0 <- svydesign(ids = ~1, weights = ~rep(1, n), data = df)
r <- rake(d0, list(~sex, ~age_group), list(margin("sex", N), margin("age_group", N)),
          control = CONTROL)
df$w_start <- 1.25 * weights(r)
write_data(df[, c("id", "w_start")], "england_bounds_start.csv")
ds <- svydesign(ids = ~1, weights = ~w_start, data = df)
cases <- list(
  list(case = "bounds_logit_125", calfun = "logit", bounds = c(0.4, 1.7), d = ds, N = N),
  list(case = "bounds_linear_125", calfun = "linear", bounds = c(0.4, 1.7), d = ds, N = N),
  # weights all 1 for a population of 100000: every total is 50 x the sample's, so grake
  # rescales by the mean ratio first (and warns) and the bounds apply after rescaling
  list(case = "bounds_logit_rescaled", calfun = "logit", bounds = c(0.3, 3), d = d0,
       N = 100000)
)
for (cs in cases) {
  g <- withCallingHandlers(
    calibrate(cs$d, f, population = totals(cs$N), calfun = cs$calfun, bounds = cs$bounds,
              maxit = 1000, epsilon = 1e-12),
    warning = function(w) {
      if (grepl("rescaling", conditionMessage(w))) invokeRestart("muffleWarning")
    })
  write_weights(g, cs$case)
  vals <- add(vals, cs$case, "calibrate", "bound_lower", cs$bounds[1])
  vals <- add(vals, cs$case, "calibrate", "bound_upper", cs$bounds[2])
  vals <- add(vals, cs$case, "calibrate", "population", cs$N)
  start <- weights(cs$d)
  vals <- add(vals, cs$case, "calibrate", "g_min", min(weights(g) / start))
  vals <- add(vals, cs$case, "calibrate", "g_max", max(weights(g) / start))
  m <- svymean(~trust, g)
  vals <- add(vals, cs$case, "svymean", "estimate", coef(m), variable = "trust")
  vals <- add(vals, cs$case, "svymean", "se", SE(m), variable = "trust")
}

# ---------------------------------------------------------------- trimWeights
# starting weights with a long right tail, so the trimmed amount is large and additive
# (R) and proportional redistribution differ; strict = TRUE repeats until none is outside
set.seed(20261207)
df$w_trim <- round(exp(rnorm(n, 0, 0.7)), 6)
write_data(df[, c("id", "w_trim")], "england_trim_start.csv")
dt <- svydesign(ids = ~1, weights = ~w_trim, data = df)
trims <- list(
  list(case = "trim_upper", upper = 3, lower = -Inf, strict = FALSE),
  list(case = "trim_upper_strict", upper = 3, lower = -Inf, strict = TRUE),
  list(case = "trim_both", upper = 2.5, lower = 0.4, strict = FALSE),
  list(case = "trim_both_strict", upper = 2.5, lower = 0.4, strict = TRUE)
)
for (tr in trims) {
  t <- trimWeights(dt, upper = tr$upper, lower = tr$lower, strict = tr$strict)
  write_weights(t, tr$case)
  vals <- add(vals, tr$case, "trimWeights", "upper", tr$upper)
  vals <- add(vals, tr$case, "trimWeights", "lower", tr$lower)
  vals <- add(vals, tr$case, "trimWeights", "max_weight", max(weights(t)))
  vals <- add(vals, tr$case, "trimWeights", "sum_weight", sum(weights(t)))
}

write_values(vals, "weighting_bounds.csv")
