# Warnings: -Wall -Wextra everywhere, errors unless MEDIASTORE_WERROR=OFF.
set(MEDIASTORE_WARNINGS -Wall -Wextra)
if(MEDIASTORE_WERROR)
  list(APPEND MEDIASTORE_WARNINGS -Werror)
endif()
