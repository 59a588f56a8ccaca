# mtd_embed(INPUT OUTPUT SYMBOL): writes OUTPUT, a C file defining SYMBOL (the bytes of
# INPUT, NUL-terminated) and SYMBOL_len (their count without the NUL), so that a data
# file kept in the tree (e.g. src/posture/os_support.json) is compiled into the binary
# that reads it. CMake re-runs when INPUT changes.
function(mtd_embed input output symbol)
  file(READ ${input} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  file(WRITE ${output}.tmp
       "/* made by cmake/mtd_embed.cmake from ${input}: do not edit */\n"
       "const unsigned char ${symbol}[] = {${bytes} 0};\n"
       "const unsigned long ${symbol}_len = sizeof ${symbol} - 1;\n")
  configure_file(${output}.tmp ${output} COPYONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${input})
endfunction()
