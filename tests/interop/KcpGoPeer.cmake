# Builds tests/interop/kcpgo-peer, the kcp-go interop/benchmark peer (Go), once per build tree.
#
#   include(${kcpnet_SOURCE_DIR}/tests/interop/KcpGoPeer.cmake)
#   kcpnet_kcpgo_peer()
#   if(TARGET kcpgo_peer)
#       add_dependencies(my_target kcpgo_peer)
#       target_compile_definitions(my_target PRIVATE KCPGO_PEER="${KCPNET_KCPGO_PEER}")
#   endif()
#
# Defines the target `kcpgo_peer` (built by ALL) and the cache variable KCPNET_KCPGO_PEER (path of the binary,
# empty when it cannot be built). Without a Go toolchain or without kcp-go's source (Debian packages golang-go and
# golang-github-xtaci-kcp-dev) it prints why and defines neither target nor path: callers skip what needs it.
#
# The build is hermetic and offline: GOPATH mode (kcp-go and its dependencies come from KCPNET_GOCODE_DIR,
# /usr/share/gocode on Debian), GOPROXY=off, GOENV=off (no user go/env file), GOFLAGS cleared, GOPATH's first
# entry and GOCACHE inside the build tree (CI builds as root from a fresh clone), CGO off (a static binary).
include_guard(GLOBAL)

function(kcpnet_kcpgo_peer)
    if(TARGET kcpgo_peer)
        return()
    endif()

    find_program(GO_EXECUTABLE go DOC "Go toolchain, for the kcp-go interop peer")
    set(KCPNET_GOCODE_DIR "/usr/share/gocode" CACHE PATH
        "GOPATH root holding src/github.com/xtaci/kcp-go and its dependencies")
    set(kcpgo_src "${KCPNET_GOCODE_DIR}/src/github.com/xtaci/kcp-go")

    if(NOT GO_EXECUTABLE)
        message(STATUS "kcpnet: Go not found (Debian: golang-go): kcp-go peer, interop tests and kcp-go benchmark "
                       "skipped")
        set(KCPNET_KCPGO_PEER "" CACHE INTERNAL "kcp-go interop peer (empty: not built)")
        return()
    endif()
    if(NOT EXISTS "${kcpgo_src}/sess.go")
        message(STATUS "kcpnet: kcp-go source not found in ${kcpgo_src} (Debian: golang-github-xtaci-kcp-dev; or "
                       "set KCPNET_GOCODE_DIR): kcp-go peer, interop tests and kcp-go benchmark skipped")
        set(KCPNET_KCPGO_PEER "" CACHE INTERNAL "kcp-go interop peer (empty: not built)")
        return()
    endif()

    set(peer_src "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/kcpgo-peer")
    set(work "${kcpnet_BINARY_DIR}/tests/interop/kcpgo-peer")
    set(peer_bin "${work}/kcpgo-peer")
    file(GLOB peer_sources CONFIGURE_DEPENDS "${peer_src}/*.go")
    # Rebuild when the packaged kcp-go changes too (Go's own cache makes that cheap).
    file(GLOB kcpgo_sources CONFIGURE_DEPENDS "${kcpgo_src}/*.go")

    # `go build .` from the package directory: GOPATH mode refuses absolute import paths.
    add_custom_command(
        OUTPUT "${peer_bin}"
        COMMAND "${CMAKE_COMMAND}" -E make_directory "${work}/gopath" "${work}/gocache"
        COMMAND "${CMAKE_COMMAND}" -E env
                GO111MODULE=off GOPROXY=off GOENV=off GOFLAGS= CGO_ENABLED=0 GOTELEMETRY=off
                "GOPATH=${work}/gopath:${KCPNET_GOCODE_DIR}" "GOCACHE=${work}/gocache"
                "${GO_EXECUTABLE}" build -trimpath -o "${peer_bin}" .
        WORKING_DIRECTORY "${peer_src}"
        DEPENDS ${peer_sources} ${kcpgo_sources}
        COMMENT "Building the kcp-go peer (Go, GOPATH mode, offline)"
        VERBATIM)
    add_custom_target(kcpgo_peer ALL DEPENDS "${peer_bin}")
    set(KCPNET_KCPGO_PEER "${peer_bin}" CACHE INTERNAL "kcp-go interop peer (empty: not built)")
    message(STATUS "kcpnet: kcp-go peer: ${peer_bin} (Go: ${GO_EXECUTABLE}, kcp-go: ${kcpgo_src})")
endfunction()
