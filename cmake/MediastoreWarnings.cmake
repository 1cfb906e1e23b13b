# Warnings: -Wall -Wextra on the project's own targets. MEDIASTORE_WERROR
# (default OFF, like fmt's FMT_WERROR) makes them errors; the project's test
# command (scripts/test.sh) turns it ON for every build, so a warning fails
# CI without failing the build of a user with another compiler version.
set(MEDIASTORE_WARNINGS -Wall -Wextra)
if(MEDIASTORE_WERROR)
  list(APPEND MEDIASTORE_WARNINGS -Werror)
endif()
