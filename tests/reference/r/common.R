# Helpers shared by the reference scripts. Values are written with full precision
# (sprintf("%.17g")) in one long format:
#   case,statistic,variable,domain,category,method,quantity,value
suppressMessages(library(survey))
options(survey.lonely.psu = "fail", stringsAsFactors = FALSE)

ref_root <- function() {
  if (file.exists("tests/reference/make_reference.R")) "tests/reference" else "."
}
data_path <- function(name) file.path(ref_root(), "data", name)
values_path <- function(name) file.path(ref_root(), "values", name)

new_values <- function() {
  data.frame(case = character(), statistic = character(), variable = character(),
             domain = character(), category = character(), method = character(),
             quantity = character(), value = character())
}

add <- function(vals, case, statistic, quantity, value, variable = "", domain = "",
                category = "", method = "") {
  n <- length(value)
  rbind(vals, data.frame(case = case, statistic = statistic,
                         variable = rep(variable, length.out = n),
                         domain = rep(domain, length.out = n),
                         category = rep(category, length.out = n),
                         method = method, quantity = quantity,
                         value = sprintf("%.17g", as.numeric(value))))
}

write_values <- function(vals, name) {
  write.csv(vals, values_path(name), row.names = FALSE, quote = TRUE)
}

write_weights <- function(design, case) {
  w <- weights(design)
  write.csv(data.frame(row = seq_along(w), weight = sprintf("%.17g", w)),
            values_path(paste0("weights_", case, ".csv")), row.names = FALSE, quote = FALSE)
}

write_data <- function(df, name) {
  write.csv(df, data_path(name), row.names = FALSE, na = "")
}

CONTROL <- list(maxit = 1000, epsilon = 1e-12)
