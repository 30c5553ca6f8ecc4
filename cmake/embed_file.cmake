# embed_file(TARGET INPUT SYMBOL): compiles the bytes of INPUT (a path relative to the
# current source directory, or absolute) into TARGET as
#   namespace dispatcher::embedded { extern const std::string_view SYMBOL; }
# The .cpp is generated at build time and again whenever INPUT changes, so the binary
# always serves the file as committed (the OpenAPI document, the console's assets) and
# needs nothing beside it at run time. Declare the symbol where it is used.
set(EMBED_FILE_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/embed_file_generate.cmake")

function(embed_file target input symbol)
  get_filename_component(input_path "${input}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  set(output "${CMAKE_CURRENT_BINARY_DIR}/embedded/${symbol}.cpp")
  add_custom_command(
    OUTPUT "${output}"
    COMMAND "${CMAKE_COMMAND}" -DINPUT=${input_path} -DOUTPUT=${output} -DSYMBOL=${symbol}
            -P "${EMBED_FILE_SCRIPT}"
    DEPENDS "${input_path}" "${EMBED_FILE_SCRIPT}"
    COMMENT "Embedding ${input} as dispatcher::embedded::${symbol}"
    VERBATIM)
  target_sources(${target} PRIVATE "${output}")
endfunction()
