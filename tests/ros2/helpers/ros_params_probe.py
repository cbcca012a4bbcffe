"""A separate rclpy process that inspects a running samstream node: its declared parameters (with
descriptions, through the node's parameter services) and that its mask topic publishes.

    python ros_params_probe.py --node /robot/seg --mask /robot/mask --out probe.json
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", required=True)
    ap.add_argument("--mask", required=True)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import rclpy
    from rcl_interfaces.srv import DescribeParameters, GetParameters, ListParameters
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node("test_params_probe")
    end = time.monotonic() + args.timeout
    result: dict = {"masks": 0}

    def call(srv_type, name, req):
        cli = node.create_client(srv_type, f"{args.node}/{name}")
        if not cli.wait_for_service(timeout_sec=max(0.1, end - time.monotonic())):
            raise SystemExit(f"service {args.node}/{name} not available")
        fut = cli.call_async(req)
        rclpy.spin_until_future_complete(node, fut, timeout_sec=max(0.1, end - time.monotonic()))
        return fut.result()

    names = list(call(ListParameters, "list_parameters", ListParameters.Request()).result.names)
    req = DescribeParameters.Request()
    req.names = names
    descs = call(DescribeParameters, "describe_parameters", req).descriptors
    req = GetParameters.Request()
    req.names = names
    values = call(GetParameters, "get_parameters", req).values
    result["parameters"] = {d.name: {"description": d.description, "type": int(d.type)} for d in descs}
    result["values"] = {n: (v.string_value if v.type == 4 else v.integer_value if v.type == 2 else
                            v.bool_value if v.type == 1 else v.double_value) for n, v in zip(names, values)}

    def on_mask(m) -> None:
        result["masks"] += 1
        result["mask_size"] = [m.width, m.height]

    node.create_subscription(Image, args.mask, on_mask, 10)
    while result["masks"] < 3 and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    node.destroy_node()
    rclpy.try_shutdown()
    with open(args.out, "w") as f:
        json.dump(result, f)
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
