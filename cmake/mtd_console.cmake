# The admin console (console/, served by the collector at /console): npm installs its
# dependencies exactly as console/package-lock.json pins them, and vite bundles it
# into BUILD/console (hashed assets, each with a gzip copy). No network at run time:
# the collector serves these files and nothing else.
find_program(MTD_NPM npm)
if(NOT MTD_NPM)
  message(FATAL_ERROR "npm not found: scripts/install-deps installs Debian's nodejs and npm")
endif()
set(MTD_CONSOLE_SRC ${CMAKE_SOURCE_DIR}/console)
set(MTD_CONSOLE_OUT ${CMAKE_BINARY_DIR}/console)
file(GLOB_RECURSE MTD_CONSOLE_FILES CONFIGURE_DEPENDS ${MTD_CONSOLE_SRC}/src/*)
# npm ci writes node_modules/.package-lock.json last: it stands for the whole install
add_custom_command(OUTPUT ${MTD_CONSOLE_SRC}/node_modules/.package-lock.json
  COMMAND ${MTD_NPM} ci --no-audit --no-fund --loglevel=error
  DEPENDS ${MTD_CONSOLE_SRC}/package.json ${MTD_CONSOLE_SRC}/package-lock.json
  WORKING_DIRECTORY ${MTD_CONSOLE_SRC}
  COMMENT "console: npm ci")
add_custom_command(OUTPUT ${MTD_CONSOLE_OUT}/index.html
  COMMAND ${MTD_NPM} run --silent build -- --logLevel warn --outDir ${MTD_CONSOLE_OUT} --emptyOutDir
  DEPENDS ${MTD_CONSOLE_SRC}/node_modules/.package-lock.json ${MTD_CONSOLE_FILES}
          ${MTD_CONSOLE_SRC}/index.html ${MTD_CONSOLE_SRC}/vite.config.js
  WORKING_DIRECTORY ${MTD_CONSOLE_SRC}
  COMMENT "console: vite build into ${MTD_CONSOLE_OUT}")
add_custom_target(console ALL DEPENDS ${MTD_CONSOLE_OUT}/index.html)
