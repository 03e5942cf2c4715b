/* SPDX-License-Identifier: GPL-2.0 */
/* Every harness of tests/fuzz/, for the replay (no include guard: it is
 * expanded once per use of HARNESS). Keep in step with the files. */
HARNESS(elfsym)
HARNESS(gopclntab)
HARNESS(goinfo)
HARNESS(cfi_build)
HARNESS(ksyms)
HARNESS(probe_place)
HARNESS(goprof)
HARNESS(goscan)
HARNESS(regions)
HARNESS(maps)
HARNESS(fdinfo)
