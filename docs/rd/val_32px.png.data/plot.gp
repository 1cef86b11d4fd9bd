set terminal pngcairo size 1100,700 font ',10'
set output 'docs/rd/val_32px.png'
set logscale x 2
set xlabel 'bits per pixel (wire bytes x 8 / pixels)'
set ylabel 'PSNR (dB)'
set key outside right
set grid
set yrange [10:45]
set title 'Rate-distortion, data/photos/val (PNG, lossless, in the report)'
plot 'docs/rd/val_32px.png.data/curve0.dat' using 1:2 with linespoints title 'grid features fp16', 'docs/rd/val_32px.png.data/curve1.dat' using 1:2 with linespoints title 'grid features fp32', 'docs/rd/val_32px.png.data/curve2.dat' using 1:2 with linespoints title 'grid features int8', 'docs/rd/val_32px.png.data/curve3.dat' using 1:2 with linespoints title 'grid features+pixels int8', 'docs/rd/val_32px.png.data/curve4.dat' using 1:2 with linespoints title 'grid pixels', 'docs/rd/val_32px.png.data/curve5.dat' using 1:2 with linespoints title 'jpeg', 'docs/rd/val_32px.png.data/curve6.dat' using 1:2 with linespoints title 'masker features fp16', 'docs/rd/val_32px.png.data/curve7.dat' using 1:2 with linespoints title 'masker features fp32', 'docs/rd/val_32px.png.data/curve8.dat' using 1:2 with linespoints title 'masker features int8', 'docs/rd/val_32px.png.data/curve9.dat' using 1:2 with linespoints title 'masker features+pixels int8', 'docs/rd/val_32px.png.data/curve10.dat' using 1:2 with linespoints title 'masker pixels', 'docs/rd/val_32px.png.data/curve11.dat' using 1:2 with linespoints title 'random features fp16', 'docs/rd/val_32px.png.data/curve12.dat' using 1:2 with linespoints title 'random features fp32', 'docs/rd/val_32px.png.data/curve13.dat' using 1:2 with linespoints title 'random features int8', 'docs/rd/val_32px.png.data/curve14.dat' using 1:2 with linespoints title 'random features+pixels int8', 'docs/rd/val_32px.png.data/curve15.dat' using 1:2 with linespoints title 'random pixels', 'docs/rd/val_32px.png.data/curve16.dat' using 1:2 with linespoints title 'webp'
