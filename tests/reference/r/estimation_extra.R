# Extra estimation reference cases (issue #12), for tests/test_estimation.py and
# tests/test_replicates.py:
# - item 16: svychisq with missing answers (statistic "F" and "Chisq"): R scales the table to
#   all rows of the design (N = nrow(model matrix, na.pass)), not to the valid rows;
# - item 17: lonely.psu = "average" inside domains: svyby subsets an uncalibrated design by
#   dropping rows, so onestage() scales by the strata present in the domain (nstrat/nokstrat);
#   a calibrated design keeps its rows (prob = Inf), so the whole design's strata count;
#   na.rm = TRUE subsets the same way;
# - item 18: svyciprop in a domain with p = 0 (0 of 14 high schools are "top"): NaN limits
#   for asin, beta and xlogit; the domain's df for the NCHS rule worked by hand in the test;
# - item 6: bootweights on a design with a single-PSU stratum: the lonely PSU's multiplier is
#   1 in every replicate (no variance, whatever survey.lonely.psu says) and the scale uses
#   the harmonic mean of the PSUs per stratum including it.
# Run from the repository root: Rscript tests/reference/r/estimation_extra.R
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else ".",
                 "common.R"))
vals <- new_values()
data(api)

# ---------------------------------------------------------------- item 16: svychisq with NA
clus_na <- apiclus1
clus_na$sch.wide[clus_na$snum %% 7 == 0] <- NA
dclus_na <- svydesign(id = ~dnum, weights = ~pw, data = clus_na, fpc = ~fpc)
strat_na <- apistrat
strat_na$awards[strat_na$snum %% 5 == 0] <- NA
dstrat_na <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = strat_na, fpc = ~fpc)
for (cc in list(list(case = "apiclus1_na", d = dclus_na, f = ~sch.wide + stype,
                     lab = "sch.wide|stype"),
                list(case = "apistrat_na", d = dstrat_na, f = ~stype + awards,
                     lab = "stype|awards"))) {
  for (st in c("F", "Chisq")) {
    r <- svychisq(cc$f, cc$d, statistic = st)
    vals <- add(vals, cc$case, "svychisq", "statistic", r$statistic, variable = cc$lab,
                method = st)
    vals <- add(vals, cc$case, "svychisq", "p_value", r$p.value, variable = cc$lab,
                method = st)
    vals <- add(vals, cc$case, "svychisq", "df_num", r$parameter[1], variable = cc$lab,
                method = st)
  }
}

# ---------------------------------------------------------------- item 17: average in domains
lonely <- read.csv(data_path("apistrat_lonely.csv"))
lonely$sch.wide <- factor(lonely$sch.wide, levels = c("No", "Yes"))
options(survey.lonely.psu = "average")
dl <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely, fpc = ~fpc)
r <- svyby(~api00, ~awards, dl, svymean)
vals <- add(vals, "lonely_average", "svyby_svymean", "se", SE(r), variable = "api00",
            domain = as.character(r$awards))
r <- svyby(~api00, ~stype, dl, svymean)
vals <- add(vals, "lonely_average", "svyby_svymean", "se", SE(r), variable = "api00",
            domain = as.character(r$stype))
r <- svyby(~sch.wide, ~stype, dl, svymean)
for (k in c("No", "Yes"))
  vals <- add(vals, "lonely_average", "svyby_svymean", "se", SE(r)[, paste0("se.sch.wide", k)],
              variable = "sch.wide", domain = as.character(r$stype), category = k)
r <- svyby(~enroll, ~awards, dl, svytotal)
vals <- add(vals, "lonely_average", "svyby_svytotal", "se", SE(r), variable = "enroll",
            domain = as.character(r$awards))
# na.rm: every high school's api00 missing, so the whole-sample mean sees strata E, M, X
lonely_na <- lonely
lonely_na$api00[lonely_na$stype == "H"] <- NA
dl_na <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely_na, fpc = ~fpc)
m <- svymean(~api00, dl_na, na.rm = TRUE)
vals <- add(vals, "lonely_average_na", "svymean", "se", SE(m), variable = "api00")
# calibrated: rows are kept, the whole design's strata count
dlp <- postStratify(dl, ~sch.wide, data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122)))
r <- svyby(~api00, ~awards, dlp, svymean)
vals <- add(vals, "lonely_average_ps", "svyby_svymean", "se", SE(r), variable = "api00",
            domain = as.character(r$awards))
options(survey.lonely.psu = "fail")

# ---------------------------------------------------------------- item 18: p = 0 in a domain
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
for (meth in c("asin", "beta", "xlogit")) {
  r <- svyby(~I(api00 >= 845), ~stype, dclus1, svyciprop, vartype = c("se", "ci"),
             method = meth)
  vals <- add(vals, "apiclus1_top", "svyciprop", "ci_lower", r$ci_l, variable = "top",
              domain = as.character(r$stype), method = meth)
  vals <- add(vals, "apiclus1_top", "svyciprop", "ci_upper", r$ci_u, variable = "top",
              domain = as.character(r$stype), method = meth)
}
for (s in c("E", "H", "M")) {
  sub <- subset(dclus1, stype == s)
  vals <- add(vals, "apiclus1_top", "degf", "df", degf(sub), domain = s)
  vals <- add(vals, "apiclus1_top", "nrow", "n", nrow(sub), domain = s)
}

# ---------------------------------------------------------------- item 6: bootstrap, lonely
# PSU labels are text: bootstratum() calls sample(unique(psu)), which for a single numeric
# label k samples 1:k (R's sample() pitfall) and gives the lonely PSU a random multiplier;
# with a text label it is kept once in every replicate, as intended. No fpc (with an fpc the
# same pitfall makes R stop).
set.seed(12)
lonely_id <- transform(lonely, id = paste0("s", seq_len(nrow(lonely))))
for (opt in c("remove", "certainty", "fail")) {
  options(survey.lonely.psu = opt)
  dlo <- svydesign(id = ~id, strata = ~stype, weights = ~pw, data = lonely_id)
  b <- as.svrepdesign(dlo, type = "bootstrap", replicates = 20)
  mult <- weights(b, "analysis")[lonely_id$stype == "X", ] / lonely_id$pw[lonely_id$stype == "X"]
  vals <- add(vals, "apistrat_lonely_boot", "design", "scale", b$scale, method = opt)
  vals <- add(vals, "apistrat_lonely_boot", "design", "lonely_multiplier_min", min(mult),
              method = opt)
  vals <- add(vals, "apistrat_lonely_boot", "design", "lonely_multiplier_max", max(mult),
              method = opt)
}
options(survey.lonely.psu = "fail")

write_values(vals, "estimation_extra.csv")
