# Issue #17 reference: knowledge scores and learning in two real Deliberative Polls (UK
# "Future of the NHS" 1998; By the People 2005), data in data/knowledge/ (CC0, see its
# README). Base R scores each person (share right, "don't know"/no answer not right; the
# guessing correction right - wrong/(k-1), "don't know" neither), survey's svymean/svyby/
# svycontrast give the means, gains, gaps and their design-based SEs, and psych::alpha (Debian
# r-cran-psych) Cronbach's alpha, cross-checked against alpha's formula in base R.
# Writes tests/reference/values/knowledge.csv. Run from the repository root.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
suppressMessages(library(psych))
vals <- new_values()
root <- if (file.exists("data/knowledge")) "data/knowledge" else "../../data/knowledge"

score <- function(m, chance = NULL) {
  right <- ifelse(is.na(m), 0, m)
  if (is.null(chance)) return(rowMeans(right))
  wrong <- ifelse(is.na(m), 0, 1 - m)
  rowMeans(right - sweep(wrong, 2, chance / (1 - chance), "*"))
}
alpha_base <- function(x) {
  k <- ncol(x); k / (k - 1) * (1 - sum(apply(x, 2, var)) / var(rowSums(x)))
}

polls <- list(
  uk1998 = list(file = "uk-health-1998-knowledge.csv",
                pre = paste0("soph", letters[1:6], "1r"), post = paste0("soph", letters[1:6], "2r"),
                chance = rep(0.5, 6)),
  btp2005 = list(file = "btp-health-education-2005-knowledge.csv",
                 pre = paste0("t1know", 1:6, "raw"), post = paste0("t3know", 1:6, "raw"),
                 chance = rep(0.25, 6))
)
for (case in names(polls)) {
  p <- polls[[case]]
  d <- read.csv(file.path(root, p$file))
  pre <- as.matrix(d[p$pre]); post <- as.matrix(d[p$post])
  d$score_before <- score(pre); d$score_after <- score(post)
  d$gain <- d$score_after - d$score_before
  d$corrected_before <- score(pre, p$chance); d$corrected_after <- score(post, p$chance)
  d$corrected_gain <- d$corrected_after - d$corrected_before
  for (j in seq_along(p$pre)) {
    d[[paste0("rb", j)]] <- ifelse(is.na(pre[, j]), 0, pre[, j])
    d[[paste0("ra", j)]] <- ifelse(is.na(post[, j]), 0, post[, j])
    d[[paste0("ig", j)]] <- d[[paste0("ra", j)]] - d[[paste0("rb", j)]]
    d[[paste0("dkb", j)]] <- as.numeric(is.na(pre[, j]))
  }
  # the poll as released (equal weights, no clusters), and a weighted, clustered variant:
  # pseudo discussion groups of 10 consecutive rows and weights 1, 2, 3 repeating (a test of
  # the clustered, weighted computation, not a claim about the poll)
  d$grp <- (seq_len(nrow(d)) - 1) %/% 10
  d$w <- 1 + (seq_len(nrow(d)) - 1) %% 3
  designs <- list(svydesign(ids = ~1, data = d),
                  svydesign(ids = ~grp, weights = ~w, data = d))
  names(designs) <- c(case, paste0(case, "_clustered"))
  for (cs in names(designs)) {
    des <- designs[[cs]]
    ms <- c("score_before", "score_after", "gain", "corrected_before", "corrected_after",
            "corrected_gain")
    m <- svymean(make.formula(ms), des)
    vals <- add(vals, cs, "learning", "estimate", coef(m), variable = ms)
    vals <- add(vals, cs, "learning", "se", SE(m), variable = ms)
    vals <- add(vals, cs, "learning", "df", degf(des), variable = "gain")
    ci <- confint(svymean(~gain, des), df = degf(des))
    vals <- add(vals, cs, "learning", "ci_lower", ci[1], variable = "gain")
    vals <- add(vals, cs, "learning", "ci_upper", ci[2], variable = "gain")
    it <- paste0("ig", seq_along(p$pre))
    m <- svymean(make.formula(it), des)
    vals <- add(vals, cs, "item_gain", "estimate", coef(m), variable = p$pre)
    vals <- add(vals, cs, "item_gain", "se", SE(m), variable = p$pre)
    m <- svymean(make.formula(paste0("dkb", seq_along(p$pre))), des)
    vals <- add(vals, cs, "dont_know_before", "estimate", coef(m), variable = p$pre)
    for (ms1 in c("score_before", "gain", "corrected_gain")) {
      b <- svyby(make.formula(ms1), ~female, des, svymean, covmat = TRUE)
      vals <- add(vals, cs, "group_mean", "estimate", coef(b), variable = ms1,
                  domain = paste0("female=", names(coef(b))))
      vals <- add(vals, cs, "group_mean", "se", SE(b), variable = ms1,
                  domain = paste0("female=", names(coef(b))))
      g <- svycontrast(b, c(-1, 1))
      vals <- add(vals, cs, "group_gap", "estimate", coef(g), variable = ms1, domain = "female=1-0")
      vals <- add(vals, cs, "group_gap", "se", SE(g), variable = ms1, domain = "female=1-0")
    }
  }
  rb <- as.matrix(d[paste0("rb", seq_along(p$pre))]); ra <- as.matrix(d[paste0("ra", seq_along(p$pre))])
  for (wave in c("before", "after")) {
    x <- if (wave == "before") rb else ra
    a <- suppressWarnings(suppressMessages(psych::alpha(as.data.frame(x), check.keys = FALSE,
                                                        warnings = FALSE)))
    vals <- add(vals, case, "alpha", "psych_raw_alpha", a$total$raw_alpha, variable = wave)
    vals <- add(vals, case, "alpha", "base_formula", alpha_base(x), variable = wave)
  }
}
write_values(vals, "knowledge.csv")
