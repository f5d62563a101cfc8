#ifndef WARDEN_COPENSSL_SHIM_H
#define WARDEN_COPENSSL_SHIM_H
// Helpers for the parts of libcrypto that Swift cannot call directly: variadic functions,
// macros, and OSSL_PARAM names that must be static C strings (a temporary Swift string
// would dangle inside the parameter builder).
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <string.h>
#include <openssl/x509.h>

/// An RSA public key from its big-endian modulus and exponent, or NULL.
static inline EVP_PKEY *warden_rsa_public_key(const unsigned char *n, size_t n_len,
                                              const unsigned char *e, size_t e_len) {
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bn_n == NULL || bn_e == NULL || bld == NULL) goto done;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n)) goto done;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (params == NULL || ctx == NULL) goto done;
    if (EVP_PKEY_fromdata_init(ctx) <= 0) goto done;
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) pkey = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return pkey;
}

/// An EC public key on the named group ("P-256", "P-384") from an uncompressed point
/// (0x04 || x || y), or NULL when the point is not on the curve.
static inline EVP_PKEY *warden_ec_public_key(const char *group, const unsigned char *point,
                                             size_t point_len) {
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bld == NULL) goto done;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0)) goto done;
    if (!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, point_len)) goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (params == NULL || ctx == NULL) goto done;
    if (EVP_PKEY_fromdata_init(ctx) <= 0) goto done;
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) { pkey = NULL; goto done; }
    {
        // fromdata does not check that the point lies on the curve; do it here.
        EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        int ok = check != NULL && EVP_PKEY_public_check(check) == 1;
        EVP_PKEY_CTX_free(check);
        if (!ok) { EVP_PKEY_free(pkey); pkey = NULL; }
    }
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/// Writes the big-endian value of a BIGNUM parameter ("n", "e") into `out` (capacity
/// `cap`); returns its length, or -1.
static inline int warden_pkey_bn_param(const EVP_PKEY *pkey, const char *name,
                                       unsigned char *out, int cap) {
    BIGNUM *bn = NULL;
    int len = -1;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) && BN_num_bytes(bn) <= cap) {
        len = BN_bn2bin(bn, out);
    }
    BN_free(bn);
    return len;
}

/// The uncompressed public point of an EC key into `out` (capacity `cap`); its length or -1.
static inline int warden_ec_public_point(const EVP_PKEY *pkey, unsigned char *out, size_t cap) {
    size_t len = 0;
    if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, out, cap, &len)) return -1;
    return (int)len;
}

static inline const char *warden_param_rsa_n(void) { return OSSL_PKEY_PARAM_RSA_N; }
static inline const char *warden_param_rsa_e(void) { return OSSL_PKEY_PARAM_RSA_E; }

/// The running state of one SHA-1 or SHA-2 hash, in libcrypto's own hash contexts. In
/// OpenSSL 3.0 an EVP digest context frees and allocates its provider context again at every
/// EVP_DigestInit_ex2, which made a short hash (a PCR extend's 64 bytes) cost twice what the
/// hashing does (SHA-256: 168 against 87 ns); these contexts are plain memory, started over in
/// place. The hashes are the same code the default provider runs; their functions are
/// deprecated in 3.0, not removed.
typedef union {
    SHA_CTX sha1;
    SHA256_CTX sha256;
    SHA512_CTX sha512;  // SHA-384's too
} warden_digest_state;

/// The hashes a warden_digest_state computes.
#define WARDEN_DIGEST_SHA1 1
#define WARDEN_DIGEST_SHA256 2
#define WARDEN_DIGEST_SHA384 3
#define WARDEN_DIGEST_SHA512 4

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
/// Starts `state` over for `algorithm`; 1 on success.
static inline int warden_digest_init(warden_digest_state *state, int algorithm) {
    switch (algorithm) {
    case WARDEN_DIGEST_SHA1: return SHA1_Init(&state->sha1);
    case WARDEN_DIGEST_SHA256: return SHA256_Init(&state->sha256);
    case WARDEN_DIGEST_SHA384: return SHA384_Init(&state->sha512);
    case WARDEN_DIGEST_SHA512: return SHA512_Init(&state->sha512);
    default: return 0;
    }
}

/// Feeds `count` bytes at `bytes` to the hash `state` computes; 1 on success.
static inline int warden_digest_update(warden_digest_state *state, int algorithm, const void *bytes, size_t count) {
    switch (algorithm) {
    case WARDEN_DIGEST_SHA1: return SHA1_Update(&state->sha1, bytes, count);
    case WARDEN_DIGEST_SHA256: return SHA256_Update(&state->sha256, bytes, count);
    case WARDEN_DIGEST_SHA384: return SHA384_Update(&state->sha512, bytes, count);
    case WARDEN_DIGEST_SHA512: return SHA512_Update(&state->sha512, bytes, count);
    default: return 0;
    }
}

/// Writes the digest of everything fed to `state` to `out` (the digest's size); 1 on success.
static inline int warden_digest_final(warden_digest_state *state, int algorithm, unsigned char *out) {
    switch (algorithm) {
    case WARDEN_DIGEST_SHA1: return SHA1_Final(out, &state->sha1);
    case WARDEN_DIGEST_SHA256: return SHA256_Final(out, &state->sha256);
    case WARDEN_DIGEST_SHA384: return SHA384_Final(out, &state->sha512);
    case WARDEN_DIGEST_SHA512: return SHA512_Final(out, &state->sha512);
    default: return 0;
    }
}
#pragma clang diagnostic pop

/// A new RSA key of `bits` bits (EVP_PKEY_Q_keygen is variadic, so Swift cannot call it).
static inline EVP_PKEY *warden_generate_rsa(unsigned int bits) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

/// A new EC key on the named group.
static inline EVP_PKEY *warden_generate_ec(const char *group) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
}

/// DER ECDSA-Sig-Value from big-endian r and s; the caller frees *out with OPENSSL_free.
static inline int warden_ecdsa_der_from_rs(const unsigned char *r, size_t r_len,
                                           const unsigned char *s, size_t s_len,
                                           unsigned char **out) {
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *bn_r = BN_bin2bn(r, (int)r_len, NULL);
    BIGNUM *bn_s = BN_bin2bn(s, (int)s_len, NULL);
    int len = -1;
    if (sig == NULL || bn_r == NULL || bn_s == NULL) goto fail;
    if (!ECDSA_SIG_set0(sig, bn_r, bn_s)) goto fail;
    len = i2d_ECDSA_SIG(sig, out);
    ECDSA_SIG_free(sig);
    return len;
fail:
    BN_free(bn_r);
    BN_free(bn_s);
    ECDSA_SIG_free(sig);
    return -1;
}

/// Splits a DER ECDSA-Sig-Value into big-endian r and s, each left-padded to `width` bytes.
static inline int warden_ecdsa_rs_from_der(const unsigned char *der, long der_len, int width,
                                           unsigned char *r, unsigned char *s) {
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, der_len);
    int ok = 0;
    if (sig == NULL) return 0;
    ok = BN_bn2binpad(ECDSA_SIG_get0_r(sig), r, width) == width &&
         BN_bn2binpad(ECDSA_SIG_get0_s(sig), s, width) == width;
    ECDSA_SIG_free(sig);
    return ok;
}

static inline void warden_openssl_free(void *p) { OPENSSL_free(p); }

/// Sets an OAEP label; libcrypto takes ownership, so the copy is made with OPENSSL_malloc.
static inline int warden_set_oaep_label(EVP_PKEY_CTX *ctx, const unsigned char *label, size_t len) {
    unsigned char *copy = OPENSSL_malloc(len > 0 ? len : 1);
    if (copy == NULL) return 0;
    memcpy(copy, label, len);
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, (int)len) <= 0) { OPENSSL_free(copy); return 0; }
    return 1;
}

/// The public key of a DER or PEM X.509 certificate, or NULL.
static inline EVP_PKEY *warden_certificate_public_key(const unsigned char *bytes, size_t len, int pem) {
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    if (pem) {
        BIO *bio = BIO_new_mem_buf(bytes, (int)len);
        if (bio == NULL) return NULL;
        cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        const unsigned char *p = bytes;
        cert = d2i_X509(NULL, &p, (long)len);
    }
    if (cert == NULL) return NULL;
    key = X509_get_pubkey(cert);
    X509_free(cert);
    return key;
}

static inline int warden_set_rsa_pss_saltlen_auto(EVP_PKEY_CTX *ctx) {
    return EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO);
}

/// Reads a PEM certificate and its PEM private key; 1 when both were read (the caller frees
/// them, also when one was not), else 0.
static inline int warden_read_signer(const char *certificate_pem, const char *key_pem, X509 **certificate,
                                     EVP_PKEY **key) {
    BIO *certificate_bio = BIO_new_mem_buf(certificate_pem, -1);
    BIO *key_bio = BIO_new_mem_buf(key_pem, -1);
    *certificate = certificate_bio == NULL ? NULL : PEM_read_bio_X509(certificate_bio, NULL, NULL, NULL);
    *key = key_bio == NULL ? NULL : PEM_read_bio_PrivateKey(key_bio, NULL, NULL, NULL);
    BIO_free(key_bio);
    BIO_free(certificate_bio);
    return *certificate != NULL && *key != NULL;
}

/// A detached DER CMS SignedData over `content` (which it frees), by the PEM certificate
/// and key, without signed attributes (iPXE's imgverify reads no others), SHA-256. Returns
/// its length and sets *out (free it with OPENSSL_free), or -1.
static inline int warden_cms_sign_bio(const char *certificate_pem, const char *key_pem, BIO *content, unsigned char **out) {
    int length = -1;
    X509 *certificate = NULL;
    EVP_PKEY *key = NULL;
    CMS_ContentInfo *cms = NULL;
    if (!warden_read_signer(certificate_pem, key_pem, &certificate, &key) || content == NULL) goto done;
    cms = CMS_sign(certificate, key, NULL, content, CMS_DETACHED | CMS_BINARY | CMS_NOATTR);
    if (cms == NULL) goto done;
    *out = NULL;
    length = i2d_CMS_ContentInfo(cms, out);
done:
    CMS_ContentInfo_free(cms);
    EVP_PKEY_free(key);
    X509_free(certificate);
    BIO_free(content);
    return length;
}

/// The signature of the file at `path`.
static inline int warden_cms_sign_file(const char *certificate_pem, const char *key_pem, const char *path,
                                       unsigned char **out) {
    return warden_cms_sign_bio(certificate_pem, key_pem, BIO_new_file(path, "rb"), out);
}

/// The signature of `count` bytes at `bytes`.
static inline int warden_cms_sign_bytes(const char *certificate_pem, const char *key_pem, const unsigned char *bytes, int count,
                                        unsigned char **out) {
    return warden_cms_sign_bio(certificate_pem, key_pem, BIO_new_mem_buf(bytes, count), out);
}

/// A detached DER PKCS#7 SignedData (ContentInfo) over `count` bytes at `bytes`, by the PEM
/// certificate and key, SHA-256, without signed attributes, made as efitools'
/// sign-efi-sig-list makes the signatures of UEFI variable updates (PKCS7_sign, whose
/// algorithm identifiers carry NULL parameters, where CMS_sign leaves them out). Returns its
/// length and sets *out (free it with OPENSSL_free), or -1.
static inline int warden_pkcs7_sign_bytes(const char *certificate_pem, const char *key_pem, const unsigned char *bytes,
                                          int count, unsigned char **out) {
    int length = -1;
    int flags = PKCS7_BINARY | PKCS7_DETACHED | PKCS7_NOATTR;
    BIO *content = BIO_new_mem_buf(bytes, count);
    X509 *certificate = NULL;
    EVP_PKEY *key = NULL;
    PKCS7 *p7 = NULL;
    if (!warden_read_signer(certificate_pem, key_pem, &certificate, &key) || content == NULL) goto done;
    p7 = PKCS7_sign(NULL, NULL, NULL, content, flags | PKCS7_PARTIAL);
    if (p7 == NULL || PKCS7_sign_add_signer(p7, certificate, key, EVP_sha256(), flags) == NULL) goto done;
    if (PKCS7_final(p7, content, flags) != 1) goto done;
    *out = NULL;
    length = i2d_PKCS7(p7, out);
done:
    PKCS7_free(p7);
    EVP_PKEY_free(key);
    X509_free(certificate);
    BIO_free(content);
    return length;
}

/// 1 when `signature` (a DER PKCS#7 ContentInfo) is a valid detached signature of `count`
/// bytes at `bytes` by the PEM certificate `certificate_pem`, as UEFI firmware checks an
/// authenticated variable: one SHA-256 signer, whose certificate the signature carries and
/// is that certificate (the key is trusted, not a chain); else 0.
static inline int warden_pkcs7_verify_detached(const unsigned char *signature, long signature_len,
                                               const unsigned char *bytes, int count, const char *certificate_pem) {
    int verified = 0;
    const unsigned char *cursor = signature;
    PKCS7 *p7 = d2i_PKCS7(NULL, &cursor, signature_len);
    BIO *certificate_bio = BIO_new_mem_buf(certificate_pem, -1);
    X509 *certificate = certificate_bio == NULL ? NULL : PEM_read_bio_X509(certificate_bio, NULL, NULL, NULL);
    BIO *content = BIO_new_mem_buf(bytes, count);
    STACK_OF(X509) *signers = sk_X509_new_null();
    if (p7 != NULL && PKCS7_type_is_signed(p7) && certificate != NULL && content != NULL && signers != NULL
        && sk_X509_push(signers, certificate) > 0) {
        STACK_OF(PKCS7_SIGNER_INFO) *infos = PKCS7_get_signer_info(p7);
        STACK_OF(X509) *carried = PKCS7_get0_signers(p7, NULL, 0);
        PKCS7_SIGNER_INFO *info = sk_PKCS7_SIGNER_INFO_num(infos) == 1 ? sk_PKCS7_SIGNER_INFO_value(infos, 0) : NULL;
        X509_ALGOR *digest = NULL;
        if (info != NULL) PKCS7_SIGNER_INFO_get0_algs(info, NULL, &digest, NULL);
        const ASN1_OBJECT *digest_object = NULL;
        if (digest != NULL) X509_ALGOR_get0(&digest_object, NULL, NULL, digest);
        if (carried != NULL && sk_X509_num(carried) == 1 && X509_cmp(sk_X509_value(carried, 0), certificate) == 0
            && digest_object != NULL && OBJ_obj2nid(digest_object) == NID_sha256) {
            verified = PKCS7_verify(p7, signers, NULL, content, NULL, PKCS7_BINARY | PKCS7_NOVERIFY | PKCS7_NOINTERN) == 1;
        }
        sk_X509_free(carried);
    }
    sk_X509_free(signers);
    BIO_free(content);
    X509_free(certificate);
    BIO_free(certificate_bio);
    PKCS7_free(p7);
    return verified;
}

#endif
