// Builds the test PKI with OpenSSL's C API rather than the openssl command line, so tests
// depend on the library we link anyway and not on a binary being on PATH. Keys are EC
// P-256 because they are generated in microseconds (RSA-2048 takes noticeably longer).
#include "tests/support/test_ca.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace dispatcher::testing {

namespace {

struct pkey_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct x509_free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct ext_free {
  void operator()(X509_EXTENSION* ext) const { X509_EXTENSION_free(ext); }
};
struct file_close {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificates: ") + what + " failed");
}

pkey_ptr make_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EC key generation");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ext_free> ext(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

/// A certificate for subject_cn holding key, signed by issuer_key; issuer null means
/// self-signed. san is an OpenSSL subjectAltName string or empty for none.
x509_ptr make_cert(const char* subject_cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                   bool is_ca, const std::string& san, long serial) {
  x509_ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");  // v3
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1, "serial");
  // Backdated an hour so a slightly skewed clock in a container does not break tests.
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600) != nullptr, "notAfter");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");

  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("dispatcher tests"), -1,
                                   -1, 0) == 1,
        "subject O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(subject_cn), -1, -1,
                                   0) == 1,
        "subject CN");
  X509* signer = issuer != nullptr ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1, "issuer name");

  if (is_ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
  }
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) {
    add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  if (!san.empty()) add_extension(cert.get(), signer, NID_subject_alt_name, san.c_str());

  check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
        "X509_sign");
  return cert;
}

void write_key(const std::filesystem::path& path, EVP_PKEY* key) {
  std::unique_ptr<std::FILE, file_close> file(std::fopen(path.c_str(), "wb"));
  check(file != nullptr, "opening the key file");
  check(PEM_write_PrivateKey(file.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_PrivateKey");
}

void write_cert(const std::filesystem::path& path, X509* cert) {
  std::unique_ptr<std::FILE, file_close> file(std::fopen(path.c_str(), "wb"));
  check(file != nullptr, "opening the certificate file");
  check(PEM_write_X509(file.get(), cert) == 1, "PEM_write_X509");
}

}  // namespace

test_certificates make_test_certificates(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  test_certificates out{
      dir / "ca.crt",         dir / "ca.key",         dir / "server.crt",    dir / "server.key",
      dir / "wrong-host.crt", dir / "wrong-host.key", dir / "untrusted.crt", dir / "untrusted.key",
  };
  const std::string local_san = "DNS:localhost,IP:127.0.0.1";

  auto ca_key = make_key();
  auto ca = make_cert("dispatcher test CA", ca_key.get(), nullptr, nullptr, true, "", 1);
  write_key(out.ca_key, ca_key.get());
  write_cert(out.ca_cert, ca.get());

  auto server_key = make_key();
  auto server =
      make_cert("localhost", server_key.get(), ca.get(), ca_key.get(), false, local_san, 2);
  write_key(out.server_key, server_key.get());
  write_cert(out.server_cert, server.get());

  auto wrong_key = make_key();
  auto wrong = make_cert("wrong-host.example", wrong_key.get(), ca.get(), ca_key.get(), false,
                         "DNS:wrong-host.example", 3);
  write_key(out.wrong_host_key, wrong_key.get());
  write_cert(out.wrong_host_cert, wrong.get());

  auto untrusted_key = make_key();
  auto untrusted =
      make_cert("localhost", untrusted_key.get(), nullptr, nullptr, false, local_san, 4);
  write_key(out.untrusted_key, untrusted_key.get());
  write_cert(out.untrusted_cert, untrusted.get());
  return out;
}

}  // namespace dispatcher::testing
