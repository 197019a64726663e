# Issue #17 reference: difference in differences with a control group. Treated: the synthetic
# example's Tier 1 (trust_nhs_pre/post, clusters = discussion groups). Control: a clearly
# synthetic panel made from the example's Tier 3 (before = trust_nhs, after = trust_nhs +
# (respondent_id mod 3) - 1; weights 1 + respondent_id mod 2). Each sample's before, after and
# change by svymean on its own design (subset to people with both answers); the combination (independent samples) is worked in the
# Python test from these. Writes tests/reference/values/control.csv.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
vals <- new_values()
top <- if (file.exists("data/example")) "data" else "../../data"
t1 <- read.csv(file.path(top, "example", "tier1.csv"))
t1$change <- t1$trust_nhs_post - t1$trust_nhs_pre
t3 <- read.csv(file.path(top, "example", "tier3.csv"))
t3$before <- t3$trust_nhs; t3$after <- t3$trust_nhs + (t3$respondent_id %% 3) - 1
t3$change <- t3$after - t3$before; t3$w <- 1 + t3$respondent_id %% 2
# people without both answers stay in the design as a domain (R subset), as in delibpoll
des <- list(treated = subset(svydesign(ids = ~group_id, data = t1), !is.na(change)),
            control = subset(svydesign(ids = ~1, weights = ~w, data = t3), !is.na(change)))
f <- list(treated = ~trust_nhs_pre + trust_nhs_post + change, control = ~before + after + change)
for (s in names(des)) {
  m <- svymean(f[[s]], des[[s]])
  vals <- add(vals, "example_did", s, "estimate", coef(m), variable = c("before", "after", "change"))
  vals <- add(vals, "example_did", s, "se", SE(m), variable = c("before", "after", "change"))
  vals <- add(vals, "example_did", s, "df", degf(des[[s]]))
}
write_values(vals, "control.csv")
