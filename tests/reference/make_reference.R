# Regenerate every R reference value used by the Python tests.
# Run from the repository root:  Rscript tests/reference/make_reference.R
# (or `nox -s reference`). Needs R with the survey package:
#   apt-get install -y r-base-core r-cran-survey
# CI does not need R: the values in tests/reference/values/ are committed.
topics <- c("weighting.R", "estimation.R")
extra <- setdiff(sort(list.files("tests/reference/r", pattern = "\\.R$")),
                 c("common.R", "common16.R", topics))  # common*.R are helpers, not topics
for (f in c(topics, extra)) {
  message("== ", f)
  source(file.path("tests/reference/r", f), local = new.env())
}
vals <- data.frame(quantity = c("R.version", "survey.version"),
                   value = c(R.version.string, as.character(packageVersion("survey"))))
write.csv(vals, "tests/reference/values/versions.csv", row.names = FALSE)
