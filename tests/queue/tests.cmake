# Queue and upload tests that need more than one backend in-process:
#   queue.redis       the queue behaviour suite on a real redis-server (fixture
#                     `redis`) plus a Redis restart mid-run (private server)
set(MS_QUEUE_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
math(EXPR ms_redis_restart_default_port "${MS_REDIS_PORT} + 1")
set(MS_REDIS_RESTART_PORT ${ms_redis_restart_default_port} CACHE STRING
    "Port of the private redis-server the Redis restart test stops and starts")

add_executable(queue_redis_test ${MS_QUEUE_TEST_DIR}/queue_redis_test.cpp $<TARGET_OBJECTS:ms_doctest_main>)
ms_link_parts(queue_redis_test queue)
add_test(NAME queue.redis COMMAND queue_redis_test)
set_tests_properties(queue.redis PROPERTIES FIXTURES_REQUIRED redis LABELS integration TIMEOUT 120
  ENVIRONMENT "MS_REDIS_URL=${MS_REDIS_URL};MS_REDIS_SCRIPT=${PROJECT_SOURCE_DIR}/scripts/redis.sh;MS_REDIS_RESTART_DIR=${MS_TEST_SERVERS_DIR}/redis-restart;MS_REDIS_RESTART_PORT=${MS_REDIS_RESTART_PORT}")

#   upload.kill.sqlite / upload.kill.redis
#                     uploads through 2 `mediastore worker` processes SIGKILLed
#                     at random moments (MS_KILL_UPLOADS uploads, 10% hostile)
if(TARGET mediastore_cli)
  set(MS_KILL_UPLOADS 1000 CACHE STRING "Uploads in the worker kill tests")
  add_executable(upload_kill_test ${MS_QUEUE_TEST_DIR}/upload_kill_test.cpp $<TARGET_OBJECTS:ms_doctest_main>)
  ms_link_parts(upload_kill_test upload)
  add_dependencies(upload_kill_test mediastore_cli)
  add_test(NAME upload.kill.sqlite COMMAND upload_kill_test)
  set_tests_properties(upload.kill.sqlite PROPERTIES LABELS integration TIMEOUT 300
    ENVIRONMENT "MS_CLI=$<TARGET_FILE:mediastore_cli>;MS_KILL_QUEUE=sqlite;MS_KILL_UPLOADS=${MS_KILL_UPLOADS}")
  add_test(NAME upload.kill.redis COMMAND upload_kill_test)
  set_tests_properties(upload.kill.redis PROPERTIES FIXTURES_REQUIRED redis LABELS integration TIMEOUT 300
    ENVIRONMENT "MS_CLI=$<TARGET_FILE:mediastore_cli>;MS_KILL_QUEUE=redis;MS_REDIS_URL=${MS_REDIS_URL};MS_KILL_UPLOADS=${MS_KILL_UPLOADS}")
endif()

#   upload.staging.hosts / upload.staging.kill
#                     storage staging on RGW + Redis with `mediastore worker`
#                     processes in mount namespaces of their own (unshare
#                     --mount, a tmpfs over the web side's folders), run to the
#                     end / SIGKILLed at random moments then cleaned up
#                     (MS_STAGING_UPLOADS uploads; the CI default stays small)
if(TARGET mediastore_cli)
  set(MS_STAGING_UPLOADS 40 CACHE STRING "Uploads in the storage staging host tests (the issue's large run: 200)")
  add_executable(staging_hosts_test ${MS_QUEUE_TEST_DIR}/staging_hosts_test.cpp $<TARGET_OBJECTS:ms_doctest_main>)
  ms_link_parts(staging_hosts_test upload)
  add_dependencies(staging_hosts_test mediastore_cli)
  set(ms_staging_env "${MS_RGW_ENV};MS_CLI=$<TARGET_FILE:mediastore_cli>;MS_REDIS_URL=${MS_REDIS_URL};MS_STAGING_UPLOADS=${MS_STAGING_UPLOADS}")
  add_test(NAME upload.staging.hosts COMMAND staging_hosts_test -tc=*two\ hosts*)
  set_tests_properties(upload.staging.hosts PROPERTIES FIXTURES_REQUIRED "rgw;redis" LABELS "integration;rgw"
    TIMEOUT 240 ENVIRONMENT "${ms_staging_env}")
  add_test(NAME upload.staging.kill COMMAND staging_hosts_test -tc=*SIGKILLed*)
  set_tests_properties(upload.staging.kill PROPERTIES FIXTURES_REQUIRED "rgw;redis" LABELS "integration;rgw"
    TIMEOUT 240 ENVIRONMENT "${ms_staging_env}")
endif()

#   upload.cli        the worker/upload/status/stats commands (sqlite queue)
if(TARGET mediastore_cli)
  add_test(NAME upload.cli COMMAND ${MS_QUEUE_TEST_DIR}/cli_upload_test.sh $<TARGET_FILE:mediastore_cli>
    ${MS_QUEUE_TEST_DIR}/data)
  set_tests_properties(upload.cli PROPERTIES LABELS integration TIMEOUT 120)
endif()

#   upload.cli.lifecycle  worker --on-complete and reconcile (sqlite queue)
if(TARGET mediastore_cli)
  add_test(NAME upload.cli.lifecycle COMMAND ${MS_QUEUE_TEST_DIR}/cli_lifecycle_test.sh $<TARGET_FILE:mediastore_cli>
    ${MS_QUEUE_TEST_DIR}/data)
  set_tests_properties(upload.cli.lifecycle PROPERTIES LABELS integration TIMEOUT 120)
endif()

#   upload.lifecycle.redis  idempotency keys, the context index, ended_since and
#                     the record TTL through two services on one Redis
add_executable(lifecycle_redis_test ${MS_QUEUE_TEST_DIR}/lifecycle_redis_test.cpp $<TARGET_OBJECTS:ms_doctest_main>)
ms_link_parts(lifecycle_redis_test upload)
add_test(NAME upload.lifecycle.redis COMMAND lifecycle_redis_test)
set_tests_properties(upload.lifecycle.redis PROPERTIES FIXTURES_REQUIRED redis LABELS integration TIMEOUT 120
  ENVIRONMENT "MS_REDIS_URL=${MS_REDIS_URL}")
