# Reference values for plptms.meta from R's metafor, written to
# tests/data/meta_metafor_bcg.json. Run from the repository root with
#   Rscript tests/data/meta_metafor_reference.R
# Values in the JSON were produced with R 4.2.2 and metafor 3.8-1 (Debian bookworm
# packages r-base-core 4.2.2.20221110-2 and r-cran-metafor 3.8-1-1).
# The iterative estimators are run with tight convergence settings
# (REML: threshold 1e-12; PM and the Q-profile: uniroot tol 1e-12) so that the
# comparison measures the implementation, not metafor's default stopping rules
# (threshold 1e-5 and tol .Machine$double.eps^0.25); the default-setting results
# are kept too ("*_default" entries).
suppressPackageStartupMessages(library(metafor))
library(jsonlite)

tight <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)

fit_summary <- function(r) {
  p <- predict(r)
  list(beta = c(r$beta), se = r$se, zval = r$zval, pval = r$pval, ci_lb = r$ci.lb,
       ci_ub = r$ci.ub, tau2 = r$tau2, QE = r$QE, QEp = r$QEp, I2 = r$I2, H2 = r$H2,
       pi_lb = if (is.null(p$pi.lb)) NA else p$pi.lb,
       pi_ub = if (is.null(p$pi.ub)) NA else p$pi.ub,
       ddf = if (is.null(r$ddf) || is.na(r$ddf)) NA else r$ddf)
}

out <- list()
out$source <- list(
  software = paste("R", paste(R.version$major, R.version$minor, sep = "."),
                   "metafor", as.character(packageVersion("metafor"))),
  script = "tests/data/meta_metafor_reference.R",
  data = "dat.bcg (metafor/metadat); escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg)",
  control = "REML threshold 1e-12, PM/Q-profile uniroot tol 1e-12 unless '_default'")
out$data <- list(trial = dat$trial, author = as.character(dat$author), year = dat$year,
                 tpos = dat$tpos, tneg = dat$tneg, cpos = dat$cpos, cneg = dat$cneg,
                 ablat = dat$ablat, alloc = as.character(dat$alloc),
                 yi = c(dat$yi), vi = c(dat$vi))

out$rma <- list()
for (m in c("FE", "DL", "REML", "PM")) for (tst in c("z", "knha")) {
  if (m == "FE" && tst == "knha") next
  out$rma[[paste(m, tst, sep = "_")]] <- fit_summary(rma(yi, vi, data = dat, method = m, test = tst, control = tight))
}
out$rma$REML_z_default <- fit_summary(rma(yi, vi, data = dat, method = "REML"))
out$rma$PM_z_default <- fit_summary(rma(yi, vi, data = dat, method = "PM"))

out$confint <- list()
for (m in c("DL", "REML")) {
  ci <- confint(rma(yi, vi, data = dat, method = m, control = tight), control = list(tol = 1e-12))$random
  out$confint[[m]] <- list(tau2 = unname(ci[1, ]), tau = unname(ci[2, ]), I2 = unname(ci[3, ]), H2 = unname(ci[4, ]))
}

r <- rma(yi, vi, data = dat, method = "REML", control = tight)
rt <- regtest(r)
out$regtest_rma <- list(zval = rt$zval, pval = rt$pval, est = rt$est, ci_lb = rt$ci.lb, ci_ub = rt$ci.ub)
rt <- regtest(r, model = "lm")
out$regtest_lm <- list(zval = rt$zval, pval = rt$pval, dfs = rt$dfs, est = rt$est, ci_lb = rt$ci.lb, ci_ub = rt$ci.ub)

tf_summary <- function(tf) list(k0 = tf$k0, se_k0 = tf$se.k0, side = tf$side, beta = c(tf$beta),
                                se = tf$se, ci_lb = tf$ci.lb, ci_ub = tf$ci.ub, tau2 = tf$tau2,
                                k = tf$k, yi_filled = c(tf$yi)[tf$fill])
out$trimfill <- list()
out$trimfill$REML <- tf_summary(trimfill(r))
out$trimfill$REML_left <- tf_summary(trimfill(r, side = "left"))
out$trimfill$FE <- tf_summary(trimfill(rma(yi, vi, data = dat, method = "FE")))
out$trimfill$FE_R0 <- tf_summary(trimfill(rma(yi, vi, data = dat, method = "FE"), estimator = "R0"))

l1o <- function(r) { x <- as.data.frame(leave1out(r)); lapply(as.list(x[, setdiff(names(x), "slab")]), unname) }
out$leave1out <- list(REML = l1o(r), DL = l1o(rma(yi, vi, data = dat, method = "DL")))

out$metareg_ablat <- list()
for (m in c("FE", "DL", "REML", "PM")) for (tst in c("z", "knha")) {
  rr <- rma(yi ~ ablat, vi, data = dat, method = m, test = tst, control = tight)
  e <- list(beta = c(rr$beta), se = rr$se, zval = rr$zval, pval = rr$pval, ci_lb = rr$ci.lb,
            ci_ub = rr$ci.ub, tau2 = rr$tau2, QE = rr$QE, QEp = rr$QEp, QM = rr$QM,
            QMp = rr$QMp, I2 = rr$I2, H2 = rr$H2, R2 = if (is.null(rr$R2)) NA else rr$R2)
  if (m == "REML") {
    pp <- predict(rr, newmods = c(10, 50))
    e$predict <- list(ablat = c(10, 50), pred = pp$pred, se = pp$se, ci_lb = pp$ci.lb,
                      ci_ub = pp$ci.ub, pi_lb = pp$pi.lb, pi_ub = pp$pi.ub)
  }
  out$metareg_ablat[[paste(m, tst, sep = "_")]] <- e
}

# Subgroups by allocation: separate REML fits, then a fixed-effect Q test of the
# subgroup estimates (metafor-project.org, tips: comp_two_independent_estimates).
groups <- c("alternate", "random", "systematic")
sub <- lapply(groups, function(a) rma(yi, vi, data = dat, subset = alloc == a, control = tight))
names(sub) <- groups
between <- rma(sapply(sub, function(s) c(s$beta)), sei = sapply(sub, function(s) s$se), method = "FE")
out$subgroup_alloc <- list(groups = groups,
  beta = unname(sapply(sub, function(s) c(s$beta))), se = unname(sapply(sub, function(s) s$se)),
  tau2 = unname(sapply(sub, function(s) s$tau2)), k = unname(sapply(sub, function(s) s$k)),
  QE = unname(sapply(sub, function(s) s$QE)), Q_between = between$QE, Q_between_p = between$QEp)

# Effect sizes: standardised mean differences (dat.normand1999).
smd <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
smd2 <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999, vtype = "LS2")
rom <- escalc(measure = "ROM", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
md <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
n <- dat.normand1999
out$escalc_normand1999 <- list(m1i = n$m1i, sd1i = n$sd1i, n1i = n$n1i, m2i = n$m2i, sd2i = n$sd2i, n2i = n$n2i,
  smd_yi = c(smd$yi), smd_vi_LS = c(smd$vi), smd_vi_LS2 = c(smd2$vi),
  rom_yi = c(rom$yi), rom_vi = c(rom$vi), md_yi = c(md$yi), md_vi = c(md$vi))

# Standardised mean differences from t statistics (escalc's 'ti' argument), with the
# variance of Borenstein et al. (2009) (vtype = "LS2"); the last row is the t
# implied by a two-sided p = 0.03 with 27 + 27 - 2 df (Malavera et al., 2016).
ti <- c(2.5, -1.2, -qt(1 - 0.03 / 2, 52))
n1 <- c(20, 27, 27)
n2 <- c(22, 27, 27)
st <- escalc(measure = "SMD", ti = ti, n1i = n1, n2i = n2, vtype = "LS2")
out$escalc_smd_from_t <- list(ti = ti, n1i = n1, n2i = n2, yi = c(st$yi), vi = c(st$vi))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/data/meta_metafor_bcg.json")
