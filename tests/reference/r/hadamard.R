# Issue #16 Hadamard reference: survey:::hadamard(n), the matrix as.svrepdesign(type = "BRR"
# | "Fay") uses for n strata, for n = 1..64 and three larger sizes (precooked, Paley and doubled
# constructions all occur). Writes tests/reference/data/hadamard_sizes.csv: n, order, and the
# 0/1 matrix row by row as one string. Run from the repository root. Spec: SPEC_16.md section 6.
source(file.path(if (file.exists("tests/reference/r/common.R")) "tests/reference/r" else "r",
                 "common.R"))
suppressMessages(library(survey))
ns <- c(1:64, 100, 128, 200)
out <- do.call(rbind, lapply(ns, function(n) {
  H <- survey:::hadamard(n)
  data.frame(n = n, order = nrow(H), bits = paste(t(H), collapse = ""))
}))
write_data(out, "hadamard_sizes.csv")
