// Put first on the include path of dispatcher_logic and unit_tests (CMakeLists.txt): every
// Boost.Asio header includes this one, so a logic file or unit test that includes Asio,
// directly or through one of our headers, stops the build here instead of slowing it.
#error \
    "dispatcher_logic and unit_tests must not include Boost.Asio: keep the I/O out of this file, or list it in DISPATCHER_IO_SOURCES (CMakeLists.txt)"
