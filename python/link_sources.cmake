# cmake -DSRC=python/s3rec -DDST=build/python/s3rec -P link_sources.cmake
# Symbolic links to the package's Python files beside the built extension (edits need no rebuild).
file(MAKE_DIRECTORY ${DST})
file(GLOB files RELATIVE ${SRC} ${SRC}/*.py)
foreach(f ${files})
  if(NOT EXISTS ${DST}/${f})
    file(CREATE_LINK ${SRC}/${f} ${DST}/${f} SYMBOLIC)
  endif()
endforeach()
