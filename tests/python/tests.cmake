# Python binding tests: pytest (Debian python3-pytest on /usr/bin/python3)
# against the build tree. Three entries, selected by marker:
#   python.pytest      local backend: binding, media, uploads, Django storage
#   python.pytest.rgw  Ceph RGW: Django storage, the issue 8 secret-grep test, and
#                      (MS_SECRET_GREP=1) every library log line of the run checked for secrets
#   python.pip_install pip-installs bindings/python into a venv under the build dir
#   python.mypy        mypy --strict over the package (settings in bindings/python/pyproject.toml)
if(NOT TARGET mediastore_c)
  return()
endif()
set(ms_python /usr/bin/python3)
set(ms_py_env
  MEDIASTORE_LIBRARY=$<TARGET_FILE:mediastore_c>
  PYTHONPATH=${PROJECT_SOURCE_DIR}/bindings/python:${CMAKE_CURRENT_LIST_DIR}
  PYTHONDONTWRITEBYTECODE=1)
set(ms_pytest ${ms_python} -m pytest -p no:cacheprovider -q -W ignore::DeprecationWarning)

add_test(NAME python.pytest COMMAND ${ms_pytest} -m "not rgw and not pip" ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(python.pytest PROPERTIES ENVIRONMENT "${ms_py_env}" LABELS python TIMEOUT 300)

add_test(NAME python.pytest.rgw COMMAND ${ms_pytest} -m rgw ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(python.pytest.rgw PROPERTIES ENVIRONMENT "${ms_py_env};${MS_RGW_ENV};MS_SECRET_GREP=1" LABELS python
  FIXTURES_REQUIRED rgw TIMEOUT 300)

add_test(NAME python.pip_install COMMAND ${ms_pytest} -m pip ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(python.pip_install PROPERTIES
  ENVIRONMENT "${ms_py_env};MS_PIP_VENV_DIR=${CMAKE_CURRENT_BINARY_DIR}/python-pip-venv" LABELS python TIMEOUT 300)

add_test(NAME python.mypy COMMAND mypy --strict --cache-dir ${CMAKE_CURRENT_BINARY_DIR}/mypy-cache mediastore
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/bindings/python)
set_tests_properties(python.mypy PROPERTIES LABELS python TIMEOUT 300)

# The keeps reference Django project (examples/django_keeps): Django's test
# client with a real worker, against the local backend and against RGW.
set(ms_keeps_src ${PROJECT_SOURCE_DIR}/examples/django_keeps)
set(ms_keeps_dir ${CMAKE_CURRENT_BINARY_DIR}/django-keeps)
# The test databases (KEEPS_TEST_DB) go here; SQLite does not make folders.
file(MAKE_DIRECTORY ${ms_keeps_dir})
set(ms_keeps_env
  MEDIASTORE_LIBRARY=$<TARGET_FILE:mediastore_c>
  PYTHONPATH=${PROJECT_SOURCE_DIR}/bindings/python
  PYTHONDONTWRITEBYTECODE=1
  KEEPS_DB=${ms_keeps_dir}/db.sqlite3
  MAX_UPLOAD_SIZE=3000000)
set(ms_keeps_cmd ${ms_python} -W ignore::DeprecationWarning ${ms_keeps_src}/manage.py test keeps -v 2)
add_test(NAME django.keeps.local COMMAND ${ms_keeps_cmd} WORKING_DIRECTORY ${ms_keeps_src})
set_tests_properties(django.keeps.local PROPERTIES LABELS django TIMEOUT 300 ENVIRONMENT
  "${ms_keeps_env};MEDIA_ROOT=${ms_keeps_dir}/local-media;MEDIA_SPOOL_DIR=${ms_keeps_dir}/local-spool;MEDIA_THUMBNAIL_FORMATS=jpeg,webp,avif;KEEPS_TEST_DB=${ms_keeps_dir}/test-local.sqlite3")
add_test(NAME django.keeps.rgw COMMAND ${ms_keeps_cmd} WORKING_DIRECTORY ${ms_keeps_src})
set_tests_properties(django.keeps.rgw PROPERTIES LABELS django TIMEOUT 300 FIXTURES_REQUIRED rgw ENVIRONMENT
  "${ms_keeps_env};${MS_RGW_ENV};MINIO_BUCKET_NAME=ms-django-keeps;MEDIA_SPOOL_DIR=${ms_keeps_dir}/rgw-spool;KEEPS_TEST_DB=${ms_keeps_dir}/test-rgw.sqlite3")
