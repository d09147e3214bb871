# hit_set_warnings(target): the house warning set (../shared/STYLE.md).
function(hit_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wpedantic -Wconversion
                                           -Wsign-conversion -Wnon-virtual-dtor)
  if(HIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
