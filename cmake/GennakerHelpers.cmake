# Helpers that every directory uses: one target per library, tests with ctest labels,
# protobuf/gRPC code generation and SQL migrations embedded in the binary.

set(GENNAKER_WARNINGS -Wall -Wextra)
# The test command (scripts/test.sh) and CI build with -Werror: a warning fails the run.
option(GENNAKER_WERROR "Treat compiler warnings as errors" OFF)
if(GENNAKER_WERROR)
  list(APPEND GENNAKER_WARNINGS -Werror)
endif()

# gennaker_cc_library(NAME name SRCS ... DEPS ... [PUBLIC_DEPS ...])
function(gennaker_cc_library)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(${A_NAME} STATIC ${A_SRCS})
  target_include_directories(${A_NAME} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_compile_options(${A_NAME} PRIVATE ${GENNAKER_WARNINGS})
  target_link_libraries(${A_NAME} PUBLIC ${A_DEPS})
endfunction()

# gennaker_cc_binary(NAME name SRCS ... DEPS ...)
function(gennaker_cc_binary)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_compile_options(${A_NAME} PRIVATE ${GENNAKER_WARNINGS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
  set_target_properties(${A_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()

# gennaker_cc_test(NAME name SRCS ... DEPS ... LABELS unit|integration|e2e [TIMEOUT s])
function(gennaker_cc_test)
  cmake_parse_arguments(A "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_compile_options(${A_NAME} PRIVATE ${GENNAKER_WARNINGS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gmock GTest::gtest_main)
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  add_test(NAME ${A_NAME} COMMAND ${A_NAME})
  set_tests_properties(${A_NAME} PROPERTIES LABELS "${A_LABELS}" TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "GENNAKER_BIN_DIR=${PROJECT_BINARY_DIR}/bin;GENNAKER_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# gennaker_proto_library(NAME name PROTOS a.proto ... DEPS other_proto_libs)
# PROTOS are relative to proto/. Generates C++ messages, gRPC services and gmock stubs.
function(gennaker_proto_library)
  cmake_parse_arguments(A "" "NAME" "PROTOS;DEPS" ${ARGN})
  set(root ${PROJECT_SOURCE_DIR}/proto)
  set(out ${PROJECT_BINARY_DIR}/proto)
  set(srcs)
  foreach(p ${A_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${p})
    set(gen ${out}/${base}.pb.cc ${out}/${base}.pb.h ${out}/${base}.grpc.pb.cc
            ${out}/${base}.grpc.pb.h ${out}/${base}_mock.grpc.pb.h)
    add_custom_command(
      OUTPUT ${gen}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
      COMMAND protobuf::protoc ARGS --proto_path=${root} --cpp_out=${out}
              --grpc_out=generate_mock_code=true:${out}
              --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin> ${root}/${p}
      DEPENDS ${root}/${p} protobuf::protoc gRPC::grpc_cpp_plugin
      COMMENT "protoc ${p}" VERBATIM)
    list(APPEND srcs ${out}/${base}.pb.cc ${out}/${base}.grpc.pb.cc)
  endforeach()
  add_library(${A_NAME} STATIC ${srcs})
  target_include_directories(${A_NAME} PUBLIC ${out})
  target_link_libraries(${A_NAME} PUBLIC ${A_DEPS} protobuf::libprotobuf gRPC::grpc++)
endfunction()

# gennaker_sql_migrations(NAME name SERVICE svc): embeds deploy/sql/<svc>/NNN_*.sql into a
# library exposing `std::vector<gennaker::pg::Migration> gennaker::<svc>::Migrations()`.
function(gennaker_sql_migrations)
  cmake_parse_arguments(A "" "NAME;SERVICE" "" ${ARGN})
  file(GLOB files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/sql/${A_SERVICE}/*.sql)
  list(SORT files)
  set(body "")
  foreach(f ${files})
    get_filename_component(fname ${f} NAME)
    if(NOT fname MATCHES "^([0-9][0-9][0-9])_.*\\.sql$")
      message(FATAL_ERROR "migration ${fname} must be named NNN_name.sql")
    endif()
    math(EXPR version "${CMAKE_MATCH_1}")
    file(READ ${f} sql)
    string(APPEND body "      {${version}, \"${fname}\", R\"gennaker_sql(${sql})gennaker_sql\"},\n")
  endforeach()
  set(out ${PROJECT_BINARY_DIR}/generated/${A_SERVICE}_migrations.cc)
  file(CONFIGURE OUTPUT ${out} CONTENT
"// Generated from deploy/sql/${A_SERVICE}: do not edit.
#include <vector>
#include \"common/pg/migrations.h\"
namespace gennaker::${A_SERVICE} {
std::vector<gennaker::pg::Migration> Migrations() {
  return {
${body}  };
}
}  // namespace gennaker::${A_SERVICE}
")
  gennaker_cc_library(NAME ${A_NAME} SRCS ${out} DEPS gennaker_pg)
endfunction()
