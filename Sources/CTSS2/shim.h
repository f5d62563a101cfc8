#ifndef WARDEN_CTSS2_SHIM_H
#define WARDEN_CTSS2_SHIM_H
#include <tss2/tss2_mu.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>
#include <tss2/tss2_rc.h>

/// TPM2_GENERATED_VALUE does not import into Swift (it is a cast expression).
static const UINT32 WARDEN_TPM2_GENERATED_VALUE = 0xff544347;
#endif
