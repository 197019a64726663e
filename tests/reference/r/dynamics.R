# Issue #17 reference: group dynamics of discussion groups. ICC(1) from a one-way ANOVA in
# base R (aov: MSB, MSW; n0 = (N - sum n_g^2 / N) / (G - 1); Shrout-Fleiss F interval),
# spread by survey's svyvar (before and after jointly, their difference by svycontrast on the
# variance's covariance), pooled within-group variance by svymean of the squared deviations
# from the group's weighted mean times n / (n - G), and the movement slope by svyglm(change ~
# mean starting answer of the rest of the group). Data: the synthetic example's Tier 1
# (data/example/tier1.csv; trust 0-10, 12 groups) and the real Marousi Deliberative Poll
# (data/marousi/marousi-greece.csv; knowledge index, 15 groups).
# Writes tests/reference/values/dynamics.csv. Run from the repository root.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
vals <- new_values()
top <- if (file.exists("data/example")) "data" else "../../data"
cases <- list(
  example_trust = list(file = file.path(top, "example", "tier1.csv"), b = "trust_nhs_pre",
                       a = "trust_nhs_post", g = "group_id"),
  marousi_know = list(file = file.path(top, "marousi", "marousi-greece.csv"), b = "t1know",
                      a = "t2know", g = "pollgroup"),
  # weights 1, 2, 3 repeating: a test of the weighted computation (not a claim about data)
  example_trust_weighted = list(file = file.path(top, "example", "tier1.csv"),
                                b = "trust_nhs_pre", a = "trust_nhs_post", g = "group_id",
                                weighted = TRUE)
)
for (case in names(cases)) {
  cs <- cases[[case]]
  d <- read.csv(cs$file)
  d <- d[!is.na(d[[cs$b]]) & !is.na(d[[cs$a]]) & !is.na(d[[cs$g]]), ]
  d <- d[ave(rep(1, nrow(d)), d[[cs$g]], FUN = sum) >= 2, ]
  d$grp <- factor(d[[cs$g]]); d$pre <- d[[cs$b]]; d$post <- d[[cs$a]]
  N <- nrow(d); G <- nlevels(d$grp)
  d$w <- if (isTRUE(cs$weighted)) 1 + (seq_len(N) - 1) %% 3 else rep(1, N)
  for (which in c("before", "after")) {
    y <- if (which == "before") d$pre else d$post
    tab <- summary(aov(y ~ grp, data = d))[[1]]
    msb <- tab[1, "Mean Sq"]; msw <- tab[2, "Mean Sq"]
    ng <- table(d$grp); n0 <- (N - sum(ng^2) / N) / (G - 1)
    icc <- (msb - msw) / (msb + (n0 - 1) * msw)
    Fv <- msb / msw; df1 <- G - 1; df2 <- N - G
    FL <- Fv / qf(0.975, df1, df2); FU <- Fv * qf(0.975, df2, df1)
    vals <- add(vals, case, "icc1", "estimate", icc, variable = which)
    vals <- add(vals, case, "icc1", "ci_lower", (FL - 1) / (FL + n0 - 1), variable = which)
    vals <- add(vals, case, "icc1", "ci_upper", (FU - 1) / (FU + n0 - 1), variable = which)
    vals <- add(vals, case, "icc1", "p_value", tab[1, "Pr(>F)"], variable = which)
    vals <- add(vals, case, "icc1", "n0", n0, variable = which)
  }
  des <- svydesign(ids = ~grp, data = d, weights = ~w)
  v <- svyvar(~pre + post, des)
  V <- attr(v, "var"); m <- as.matrix(v)
  vals <- add(vals, case, "svyvar", "estimate", c(m[1, 1], m[2, 2], m[2, 2] - m[1, 1]),
              variable = c("before", "after", "change"))
  vals <- add(vals, case, "svyvar", "se",
              sqrt(c(V[1, 1], V[4, 4], V[1, 1] + V[4, 4] - 2 * V[1, 4])),
              variable = c("before", "after", "change"))
  wmean <- function(y) ave(d$w * y, d$grp, FUN = sum) / ave(d$w, d$grp, FUN = sum)
  gb <- wmean(d$pre); ga <- wmean(d$post)
  d$wb <- (d$pre - gb)^2 * N / (N - G); d$wa <- (d$post - ga)^2 * N / (N - G)
  des <- svydesign(ids = ~grp, data = d, weights = ~w)
  mw <- svymean(~wb + wa + I(wa - wb), des)
  vals <- add(vals, case, "within_variance", "estimate", coef(mw), variable = c("before", "after", "change"))
  vals <- add(vals, case, "within_variance", "se", SE(mw), variable = c("before", "after", "change"))
  # the rest of the group's weighted mean starting answer
  d$loo <- (ave(d$w * d$pre, d$grp, FUN = sum) - d$w * d$pre) /
    (ave(d$w, d$grp, FUN = sum) - d$w)
  d$change <- d$post - d$pre
  des <- svydesign(ids = ~grp, data = d, weights = ~w)
  f <- svyglm(change ~ loo, des)
  cf <- summary(f)$coefficients
  vals <- add(vals, case, "movement", "estimate", cf["loo", "Estimate"])
  vals <- add(vals, case, "movement", "se", cf["loo", "Std. Error"])
  vals <- add(vals, case, "movement", "p_value", cf["loo", "Pr(>|t|)"])
  vals <- add(vals, case, "movement", "df", f$df.residual)
}
write_values(vals, "dynamics.csv")
