# Finds only the three OpenCV modules core/ uses (core, imgproc, imgcodecs), so
# the build needs libopencv-{core,imgproc,imgcodecs}-dev and not the whole
# libopencv-dev meta package. Defines the imported target OpenCV::minimal.
find_path(OpenCVMinimal_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
find_library(OpenCVMinimal_core_LIBRARY opencv_core)
find_library(OpenCVMinimal_imgproc_LIBRARY opencv_imgproc)
find_library(OpenCVMinimal_imgcodecs_LIBRARY opencv_imgcodecs)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenCVMinimal
  REQUIRED_VARS OpenCVMinimal_INCLUDE_DIR OpenCVMinimal_core_LIBRARY
                OpenCVMinimal_imgproc_LIBRARY OpenCVMinimal_imgcodecs_LIBRARY
  REASON_FAILURE_MESSAGE "install libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev (scripts/setup.sh does)")

if(OpenCVMinimal_FOUND AND NOT TARGET OpenCV::minimal)
  add_library(OpenCV::minimal INTERFACE IMPORTED)
  set_target_properties(OpenCV::minimal PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${OpenCVMinimal_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${OpenCVMinimal_imgcodecs_LIBRARY};${OpenCVMinimal_imgproc_LIBRARY};${OpenCVMinimal_core_LIBRARY}")
endif()
