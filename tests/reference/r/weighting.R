# Weighting reference cases: rake, calibrate (linear, raking, logit with bounds),
# postStratify. Also writes the input data used by the Python tests.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
data(api)
write_data(apiclus1, "apiclus1.csv")
write_data(apistrat, "apistrat.csv")

# ---------------------------------------------------------------- England-like sample
set.seed(20261123)
n <- 2000
lv <- list(
  sex = c("Female", "Male"),
  age_group = c("18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"),
  region = c("North East", "North West", "Yorkshire and The Humber", "East Midlands",
             "West Midlands", "East of England", "London", "South East", "South West"),
  education = c("No qualifications", "Level 1 and entry level qualifications",
                "Level 2 qualifications", "Apprenticeship", "Level 3 qualifications",
                "Level 4 qualifications and above", "Other qualifications"),
  ethnicity = c("White", "Asian/Asian British", "Black/Black British/Caribbean/African",
                "Mixed/Multiple", "Other ethnic group")
)
pop <- list(
  sex = c(0.5155, 0.4845),
  age_group = c(0.1052, 0.1705, 0.1693, 0.1585, 0.1605, 0.1198, 0.1162),
  region = c(0.0474, 0.1310, 0.0969, 0.0869, 0.1044, 0.1119, 0.1544, 0.1642, 0.1029),
  education = c(0.1808, 0.0969, 0.1332, 0.0532, 0.1692, 0.3392, 0.0276),
  ethnicity = c(0.8105, 0.0961, 0.0422, 0.0296, 0.0218)
)
pop <- lapply(pop, function(p) p / sum(p))
# an online panel: too few aged 75+ and with no qualifications, too many graduates
samp <- pop
samp$age_group <- samp$age_group * c(1.0, 1.1, 1.2, 1.2, 1.1, 0.9, 0.45)
samp$education <- samp$education * c(0.45, 0.9, 1.0, 0.9, 1.0, 1.35, 0.8)
samp$sex <- c(0.56, 0.44)
samp <- lapply(samp, function(p) p / sum(p))
df <- data.frame(id = seq_len(n))
for (v in names(lv)) df[[v]] <- factor(sample(lv[[v]], n, TRUE, samp[[v]]), levels = lv[[v]])
age_num <- as.integer(df$age_group)
edu_num <- as.integer(df$education)
lin <- 0.4 + 0.12 * age_num - 0.08 * edu_num + 0.3 * (df$sex == "Female")
p_inc <- plogis(lin)
u <- runif(n)
df$q_pact <- factor(ifelse(u < p_inc * 0.92, "Increase confidence",
                    ifelse(u < p_inc * 0.92 + (1 - p_inc) * 0.7, "No impact",
                    ifelse(u < 0.96, "Decrease confidence", "Don't know"))),
                    levels = c("Increase confidence", "No impact", "Decrease confidence",
                               "Don't know"))
df$q_charge <- factor(sample(c("Right", "Wrong", "Don't know"), n, TRUE,
                             c(0.45, 0.33, 0.22)), levels = c("Right", "Wrong", "Don't know"))
df$q_charge[df$education == "Level 4 qualifications and above" & runif(n) < 0.2] <- "Wrong"
df$trust <- pmin(10L, pmax(0L, round(rnorm(n, 5 + 0.25 * age_num - 0.2 * edu_num, 2.2))))
df$agree <- as.integer(runif(n) < plogis(-0.5 + 0.2 * age_num))
df$income <- round(exp(rnorm(n, 10 + 0.08 * edu_num, 0.5)))
# every single-margin category >= 20 respondents, every age x sex cell >= 10
stopifnot(all(sapply(names(lv), function(v) min(table(df[[v]]))) >= 20))
stopifnot(min(table(df$age_group, df$sex)) >= 10)
write_data(df, "england_like.csv")

# targets (shares) in the Targets CSV format, plus an age x sex joint margin
age_sex <- outer(pop$age_group, pop$sex)
age_sex <- age_sex * (1 + 0.04 * outer(seq_along(lv$age_group) - 4, c(1, -1))) # some interaction
age_sex <- age_sex / sum(age_sex)
tg <- do.call(rbind, lapply(names(lv), function(v)
  data.frame(variable = v, category = lv[[v]], target = sprintf("%.17g", pop[[v]]))))
grid <- expand.grid(a = seq_along(lv$age_group), s = seq_along(lv$sex))
tg <- rbind(tg, data.frame(variable = "age_group|sex",
                           category = paste(lv$age_group[grid$a], lv$sex[grid$s], sep = "|"),
                           target = sprintf("%.17g", age_sex[cbind(grid$a, grid$s)])))
write.csv(tg, data_path("england_like_targets.csv"), row.names = FALSE)

vals <- new_values()
d0 <- svydesign(ids = ~1, weights = ~rep(1, n), data = df)
margins <- lapply(names(lv), function(v) {
  m <- data.frame(lv[[v]], pop[[v]] * n); names(m) <- c(v, "Freq"); m })
formulas <- lapply(names(lv), function(v) as.formula(paste0("~", v)))

# ---------------------------------------------------------------- apiclus1 raked
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
rclus1 <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = CONTROL)
write_weights(rclus1, "apiclus1_raked")
m <- svymean(~api00, rclus1)
vals <- add(vals, "apiclus1_raked", "svymean", "estimate", coef(m), variable = "api00")
vals <- add(vals, "apiclus1_raked", "svymean", "se", SE(m), variable = "api00")

# ---------------------------------------------------------------- England raked
eng <- rake(d0, formulas, margins, control = CONTROL)
write_weights(eng, "england_raked")
m <- svymean(~trust, eng)
vals <- add(vals, "england_raked", "svymean", "estimate", coef(m), variable = "trust")
vals <- add(vals, "england_raked", "svymean", "se", SE(m), variable = "trust")

# ---------------------------------------------------------------- calibration
mm_pop <- function(vars) {
  tot <- c(`(Intercept)` = n)
  for (v in vars) {
    p <- pop[[v]] * n
    names(p) <- paste0(v, lv[[v]])
    tot <- c(tot, p[-1])
  }
  tot
}
cal_vars <- c("sex", "age_group", "region", "education")
cal_formula <- ~sex + age_group + region + education
popt <- mm_pop(cal_vars)
for (cf in c("linear", "raking")) {
  g <- calibrate(d0, cal_formula, population = popt, calfun = cf, maxit = 1000, epsilon = 1e-12)
  case <- paste0("england_cal_", cf)
  write_weights(g, case)
  m <- svymean(~trust, g)
  vals <- add(vals, case, "svymean", "estimate", coef(m), variable = "trust")
  vals <- add(vals, case, "svymean", "se", SE(m), variable = "trust")
}
# logit: bounds that bind (found by tightening until calibration fails)
g_free <- weights(calibrate(d0, cal_formula, population = popt, calfun = "raking",
                            maxit = 1000, epsilon = 1e-12))
bounds <- c(0.5, 0.92 * max(g_free))
g <- calibrate(d0, cal_formula, population = popt, calfun = "logit", bounds = bounds,
               maxit = 1000, epsilon = 1e-12)
write_weights(g, "england_cal_logit")
vals <- add(vals, "england_cal_logit", "calibrate", "bound_lower", bounds[1])
vals <- add(vals, "england_cal_logit", "calibrate", "bound_upper", bounds[2])
vals <- add(vals, "england_cal_logit", "calibrate", "g_min", min(weights(g)))
vals <- add(vals, "england_cal_logit", "calibrate", "g_max", max(weights(g)))
m <- svymean(~trust, g)
vals <- add(vals, "england_cal_logit", "svymean", "estimate", coef(m), variable = "trust")
vals <- add(vals, "england_cal_logit", "svymean", "se", SE(m), variable = "trust")

# ---------------------------------------------------------------- post-stratification
ps_pop <- data.frame(age_group = lv$age_group[grid$a], sex = lv$sex[grid$s],
                     Freq = age_sex[cbind(grid$a, grid$s)] * n)
ps <- postStratify(d0, ~age_group + sex, ps_pop)
write_weights(ps, "england_poststrat")
m <- svymean(~trust, ps)
vals <- add(vals, "england_poststrat", "svymean", "estimate", coef(m), variable = "trust")
vals <- add(vals, "england_poststrat", "svymean", "se", SE(m), variable = "trust")
ps1 <- postStratify(dclus1, ~stype, pop.types)
write_weights(ps1, "apiclus1_poststrat")
m <- svymean(~api00, ps1)
vals <- add(vals, "apiclus1_poststrat", "svymean", "estimate", coef(m), variable = "api00")
vals <- add(vals, "apiclus1_poststrat", "svymean", "se", SE(m), variable = "api00")

write_values(vals, "weighting.csv")
