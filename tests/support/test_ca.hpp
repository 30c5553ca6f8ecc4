// Throwaway certificates for HTTPS tests: a test CA, a server certificate it signs for
// localhost and 127.0.0.1, one it signs for another name (to prove host name checks), and
// a self-signed one nobody trusts. Generated with the OpenSSL C API at test start, so no
// key material is checked in and nothing expires in the repository.
#pragma once

#include <filesystem>
#include <string>

namespace dispatcher::testing {

/// PEM files written by make_test_certificates; all paths are inside the given directory.
struct test_certificates {
  std::filesystem::path ca_cert;  // the test CA: give this as ca_file to trust the others
  std::filesystem::path ca_key;
  std::filesystem::path server_cert;  // CN/SAN localhost and IP 127.0.0.1, signed by the CA
  std::filesystem::path server_key;
  std::filesystem::path wrong_host_cert;  // SAN DNS:wrong-host.example only, signed by the CA
  std::filesystem::path wrong_host_key;
  std::filesystem::path untrusted_cert;  // self-signed, SAN localhost and 127.0.0.1
  std::filesystem::path untrusted_key;
};

/// Creates dir if needed and writes fresh keys (EC P-256) and certificates valid from
/// an hour ago for 30 days. Throws std::runtime_error on failure: a test setup error.
test_certificates make_test_certificates(const std::filesystem::path& dir);

}  // namespace dispatcher::testing
