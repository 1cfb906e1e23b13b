# Duplicate detection (the deduplicating stage and UploadService::similar):
#   dedup.memory / dedup.sqlite / dedup.redis
#                     two identical uploads processed at once by two services
#                     sharing the queue backend (one original, one duplicate),
#                     other scope / no scope key (both stored), an owner that
#                     failed or was abandoned after claiming (taken over);
#                     near duplicates on the wallpaper corpus (quality 60,
#                     half size, EXIF removed) within the distance, other
#                     photos and other scopes not
set(MS_DEDUP_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
add_executable(dedup_test ${MS_DEDUP_TEST_DIR}/dedup_test.cpp $<TARGET_OBJECTS:ms_doctest_main>)
ms_link_parts(dedup_test upload)
foreach(backend IN ITEMS memory sqlite redis)
  add_test(NAME dedup.${backend} COMMAND dedup_test)
  set_tests_properties(dedup.${backend} PROPERTIES LABELS integration TIMEOUT 120
    ENVIRONMENT "MS_DEDUP_QUEUE=${backend};MS_REDIS_URL=${MS_REDIS_URL};MS_TEST_PHOTO=${PROJECT_SOURCE_DIR}/tests/queue/data/photo.jpg")
endforeach()
set_tests_properties(dedup.redis PROPERTIES FIXTURES_REQUIRED redis)
