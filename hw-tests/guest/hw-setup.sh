#!/bin/sh
# INSIDE the guest: create the simulated board and print what was made as KEY=VALUE lines
# (eval "$(hw-setup.sh)"). Nothing here knows GPIO numbers: they are read back from sysfs.
#
#   gpio-sim chip, label hil-gpio, 10 named lines (the simulator's sim_gpioN/pull drives an input
#       "from outside", sim_gpioN/value shows what the chip outputs): 0-4 the daemon's, 5-9 the
#       tester lines of the wired rehearsal (guest/wired-rehearsal.sh), in the same role order
#   hil-i2c-stub adapter with SMBus register chips at 0x48 (TMP102-like) and 0x50 (EEPROM-like);
#       /sys/module/hil_i2c_stub/parameters/absent_mask unplugs chips one by one
#   two 16550 UARTs (HIL_UARTS, from run-vm.sh when it was given HIL_UART_DIR)
set -eu
# busybox applets start much faster than dynamically linked tools under TCG
bb() { busybox "$@"; }
bb modprobe configfs 2>/dev/null || true
bb grep -q ' /sys/kernel/config ' /proc/mounts || bb mount -t configfs none /sys/kernel/config

bb modprobe gpio-sim
G=/sys/kernel/config/gpio-sim/hil
bb mkdir "$G" "$G/bank0"
echo 10 >"$G/bank0/num_lines"
echo hil-gpio >"$G/bank0/label"
n=0
for name in BUTTON LED RELAY DOOR BOUNCE T_BUTTON T_LED T_RELAY T_DOOR T_BOUNCE; do
  bb mkdir "$G/bank0/line$n"
  echo "$name" >"$G/bank0/line$n/name"
  n=$((n + 1))
done
echo 1 >"$G/live"
dev=$(bb cat "$G/dev_name")
chip=$(bb cat "$G/bank0/chip_name")
base=$(bb cat /sys/devices/platform/"$dev"/gpio/gpiochip*/base)
echo "HIL_GPIO_LABEL=hil-gpio"
echo "HIL_GPIO_CHIP=$chip"
echo "HIL_GPIO_BASE=$base"
echo "HIL_GPIO_SIM=/sys/devices/platform/$dev/$chip"

bb modprobe i2c-dev
bb modprobe hil-i2c-stub chip_addr=0x48,0x50
for a in /sys/class/i2c-adapter/i2c-*; do
  if bb grep -q 'SMBus stub driver' "$a/name"; then bus=${a##*/i2c-}; fi
done
echo "HIL_I2C_BUS=${bus:?no stub adapter}"
echo "HIL_I2C_ADDRS=0x48,0x50"
echo "HIL_I2C_ABSENT=/sys/module/hil_i2c_stub/parameters/absent_mask"

# which UARTs are wired to the host simulator is known to the VM runner (x86: ttyS1,ttyS2 next to
# the console on ttyS0; arm64: ttyS0,ttyS1 on PCI, the console is ttyAMA0)
if [ -n "${HIL_UARTS:-}" ]; then
  echo "HIL_UART_A=/dev/${HIL_UARTS%%,*}"
  echo "HIL_UART_B=/dev/${HIL_UARTS#*,}"
fi
