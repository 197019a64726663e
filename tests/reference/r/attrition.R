# Issue #17 reference: attrition between the two Tier 1 surveys. Data: the synthetic example's
# Tier 1 (data/example/tier1.csv) with post answers removed by a fixed rule (participant_id
# divisible by 4, or trust_nhs_pre <= 4 and participant_id divisible by 3: attrition related
# to the pre answer). Complete case: svymean on the completers' design (clusters = discussion
# groups); adjusted: rake() of that design to the pre respondents' counts of sex and of the
# pre answer's quartiles (cut at quantile(type 7), lowest included), then svymean; attrition
# rates by svyciprop (logit) overall and by sex; the drop-out minus completer gap in the pre
# answer by svyby + svycontrast. Writes tests/reference/values/attrition.csv.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
vals <- new_values()
top <- if (file.exists("data/example")) "data" else "../../data"
d <- read.csv(file.path(top, "example", "tier1.csv"))
drop <- (d$participant_id %% 4 == 0) | (!is.na(d$trust_nhs_pre) & d$trust_nhs_pre <= 4 &
                                          d$participant_id %% 3 == 0)
d$trust_nhs_post[drop] <- NA
pre <- d[!is.na(d$trust_nhs_pre), ]
pre$prebin <- cut(pre$trust_nhs_pre, quantile(pre$trust_nhs_pre, 0:4 / 4), include.lowest = TRUE)
pre$dropped <- as.numeric(is.na(pre$trust_nhs_post))
pre$status <- factor(ifelse(pre$dropped == 1, "dropped out", "answered after"))
comp <- pre[pre$dropped == 0, ]
comp$change <- comp$trust_nhs_post - comp$trust_nhs_pre
case <- "example_attrition"
cdes <- svydesign(ids = ~group_id, data = comp)
m <- svymean(~trust_nhs_pre + trust_nhs_post + change, cdes)
vals <- add(vals, case, "complete_case", "estimate", coef(m), variable = c("before", "after", "change"))
vals <- add(vals, case, "complete_case", "se", SE(m), variable = c("before", "after", "change"))
raked <- rake(cdes, list(~sex, ~prebin), list(xtabs(~sex, pre), xtabs(~prebin, pre)),
              control = CONTROL)
m <- svymean(~trust_nhs_pre + trust_nhs_post + change, raked)
vals <- add(vals, case, "adjusted", "estimate", coef(m), variable = c("before", "after", "change"))
vals <- add(vals, case, "adjusted", "se", SE(m), variable = c("before", "after", "change"))
w <- weights(raked)
vals <- add(vals, case, "adjusted", "n_eff", length(w) * sum(w)^2 / (length(w) * sum(w^2)))
pdes <- svydesign(ids = ~group_id, data = pre)
r <- svyciprop(~dropped, pdes, method = "logit")
vals <- add(vals, case, "rate", "estimate", coef(r), domain = "all")
vals <- add(vals, case, "rate", "ci_lower", confint(r)[1], domain = "all")
vals <- add(vals, case, "rate", "ci_upper", confint(r)[2], domain = "all")
for (s in c("Female", "Male")) {
  r <- svyciprop(~dropped, subset(pdes, sex == s), method = "logit")
  vals <- add(vals, case, "rate", "estimate", coef(r), domain = s)
  vals <- add(vals, case, "rate", "ci_lower", confint(r)[1], domain = s)
  vals <- add(vals, case, "rate", "ci_upper", confint(r)[2], domain = s)
}
b <- svyby(~trust_nhs_pre, ~status, pdes, svymean, covmat = TRUE)
g <- svycontrast(b, c(-1, 1))
vals <- add(vals, case, "pre_gap", "estimate", coef(g))
vals <- add(vals, case, "pre_gap", "se", SE(g))
write_values(vals, "attrition.csv")
