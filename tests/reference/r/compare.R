# Comparison reference cases: paired differences on a design clustered by discussion group
# (the synthetic Tier 1 and the real Marousi poll), and each tier's own estimate and SE.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
vals <- new_values()
t1 <- read.csv("data/example/tier1.csv", stringsAsFactors = FALSE, na.strings = "")
t1$d_inc <- (t1$q_pact_post == "Increase confidence") - (t1$q_pact_pre == "Increase confidence")
t1$post_inc <- as.numeric(t1$q_pact_post == "Increase confidence")
t1$d_trust <- t1$trust_nhs_post - t1$trust_nhs_pre
d1 <- svydesign(ids = ~group_id, data = t1, weights = ~rep(1, nrow(t1)))
m <- svymean(~d_inc, d1)
vals <- add(vals, "tier1_example", "svymean", "estimate", coef(m), variable = "d_inc")
vals <- add(vals, "tier1_example", "svymean", "se", SE(m), variable = "d_inc")
vals <- add(vals, "tier1_example", "degf", "df", degf(d1))
m <- svymean(~d_trust, d1, na.rm = TRUE)
vals <- add(vals, "tier1_example", "svymean", "estimate", coef(m), variable = "d_trust")
vals <- add(vals, "tier1_example", "svymean", "se", SE(m), variable = "d_trust")
m <- svymean(~post_inc, d1)
vals <- add(vals, "tier1_example", "svymean", "estimate", coef(m), variable = "post_inc")
vals <- add(vals, "tier1_example", "svymean", "se", SE(m), variable = "post_inc")

t3 <- read.csv("data/example/tier3.csv", stringsAsFactors = FALSE, na.strings = "")
tg <- read.csv("data/population/england_adult_targets.csv", stringsAsFactors = FALSE)
vars <- c("sex", "age_group", "region", "education", "ethnicity")
d3 <- svydesign(ids = ~1, weights = ~rep(1, nrow(t3)), data = t3)
margins <- lapply(vars, function(v) {
  t <- tg[tg$variable == v, ]
  m <- data.frame(t$category, t$target * nrow(t3)); names(m) <- c(v, "Freq"); m })
r3 <- rake(d3, lapply(vars, function(v) as.formula(paste0("~", v))), margins, control = CONTROL)
m <- svymean(~I(as.numeric(q_pact == "Increase confidence")), r3)
vals <- add(vals, "tier3_example_raked", "svymean", "estimate", coef(m), variable = "q_pact",
            category = "Increase confidence")
vals <- add(vals, "tier3_example_raked", "svymean", "se", SE(m), variable = "q_pact",
            category = "Increase confidence")
vals <- add(vals, "tier3_example_raked", "degf", "df", degf(r3))

mar <- read.csv("data/marousi/marousi-greece.csv")
dm <- svydesign(ids = ~pollgroup, data = mar, weights = ~rep(1, nrow(mar)))
for (v in c("knowgain", "t1know", "t2know")) {
  m <- svymean(as.formula(paste0("~", v)), dm)
  vals <- add(vals, "marousi", "svymean", "estimate", coef(m), variable = v)
  vals <- add(vals, "marousi", "svymean", "se", SE(m), variable = v)
}
vals <- add(vals, "marousi", "degf", "df", degf(dm))
write_values(vals, "compare.csv")
