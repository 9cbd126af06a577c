# Reference values for plptms.meta.permutation_test from R's metafor permutest(),
# written to tests/data/meta_metafor_permutest.json. Run from the repository root with
#   Rscript tests/data/meta_metafor_permutest.R
# Values in the JSON were produced with R 4.2.2 and metafor 3.8-1 (Debian bookworm
# packages r-base-core and r-cran-metafor 3.8-1-1). REML and PM fits use tight
# convergence settings (threshold / tol 1e-12), as in meta_metafor_reference.R, so
# that the comparison measures the implementation, not metafor's stopping rules.
# Every test here is exact (all 2^k sign flips, or all distinct permutations of the
# rows of the model matrix), so the p-values are deterministic.
suppressPackageStartupMessages(library(metafor))
library(jsonlite)

tight <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
perm_summary <- function(r, ...) {
  s <- permutest(r, exact = TRUE, progbar = FALSE, ...)
  list(n_perm = s$exact.iter, zval = c(r$zval), beta = c(r$beta), QM = r$QM,
       pval_model = c(r$pval), QMp_model = r$QMp, pval = c(s$pval), QMp = s$QMp)
}

out <- list()
out$source <- list(
  software = paste("R", paste(R.version$major, R.version$minor, sep = "."),
                   "metafor", as.character(packageVersion("metafor"))),
  script = "tests/data/meta_metafor_permutest.R",
  note = paste("permutest(..., exact=TRUE) with the default comparison tolerance",
               "(comptol = sqrt(.Machine$double.eps)), two-sided p2defn='abs'."),
  published = list(
    repository = "https://github.com/wviechtb/metafor",
    commit = "05c41af57b46b49b8d69f515b4990a815dcfd6b7",
    file = "tests/testthat/test_misc_permutest.r",
    values = list(
      hine_REML = list(pval = 0.0625, lines = "random-effects model, exact test: expect_equivalent(sav$pval, 0.0625)"),
      hine_REML_mod = list(pval = c(1, 0.0028), lines = "mixed-effects model, mod = c(3,1,2,2,4,5), exact test: expect_equivalent(sav$pval, c(1, 0.0028), tolerance=.tol[['pval']])"),
      follmann_DL_coef = list(pval = 10 / 256, lines = "Follmann & Proschan (1999) Table 1, PETO, DL, control=list(stat='coef'): expect_equivalent(sav$pval, 10/256)"))))

# dat.bcg, log risk ratios: 13 trials, 2^13 = 8192 sign flips.
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
out$bcg <- list(yi = c(bcg$yi), vi = c(bcg$vi), ablat = bcg$ablat, year = bcg$year)
out$bcg_intercept <- list()
for (m in c("FE", "DL", "REML", "PM")) for (tst in c("z", "knha")) {
  if (m == "FE" && tst == "knha") next
  r <- rma(yi, vi, data = bcg, method = m, test = tst, control = tight)
  out$bcg_intercept[[paste(m, tst, sep = "_")]] <- perm_summary(r)
}
r <- rma(yi, vi, data = bcg, method = "DL")
out$bcg_intercept$DL_z_coef <- perm_summary(r, control = list(stat = "coef"))

# dat.bcg trials 1-8, meta-regression on absolute latitude: 8!/(2! 2!) = 10080
# distinct row permutations (latitudes 44 and 13 appear twice).
b8 <- bcg[1:8, ]
out$bcg8 <- list(yi = c(b8$yi), vi = c(b8$vi), ablat = b8$ablat)
out$bcg8_ablat <- list()
for (m in c("FE", "DL", "REML")) for (tst in c("z", "knha")) {
  r <- rma(yi, vi, mods = ~ ablat, data = b8, method = m, test = tst, control = tight)
  out$bcg8_ablat[[paste(m, tst, sep = "_")]] <- perm_summary(r)
}

# dat.hine1989, risk differences (metafor's own test suite,
# tests/testthat/test_misc_permutest.r): exact p = 0.0625 for the random-effects
# model and c(1, 0.0028) for the fake moderator c(3, 1, 2, 2, 4, 5).
hine <- escalc(measure = "RD", n1i = n1i, n2i = n2i, ai = ai, ci = ci, data = dat.hine1989)
out$hine <- list(yi = c(hine$yi), vi = c(hine$vi), mod = c(3, 1, 2, 2, 4, 5))
out$hine_REML <- perm_summary(rma(yi, vi, data = hine, control = tight))
hine$mod <- c(3, 1, 2, 2, 4, 5)
out$hine_REML_mod <- perm_summary(rma(yi, vi, mods = ~ mod, data = hine, control = tight))

# Follmann & Proschan (1999), Table 1, Peto odds ratios, DL, stat = "coef"
# (metafor test suite: p = 10/256).
fp <- read.table(header = TRUE, text = "
ai n1i ci n2i
173 5331 210 5296
157 1906 193 1900
131 4541 121 4516
56 2051 84 2030
52 424 65 422
36 1149 42 1129
62 6582 20 1663
2 88 2 30")
fp <- escalc(measure = "PETO", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = fp)
out$follmann <- list(yi = c(fp$yi), vi = c(fp$vi))
out$follmann_DL_coef <- perm_summary(rma(yi, vi, data = fp, method = "DL"),
                                     control = list(stat = "coef"))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/data/meta_metafor_permutest.json")
