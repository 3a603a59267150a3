output "web_ui_url" {
  description = "The Locust web UI (reachable from allowed_cidr only)."
  value       = "http://${aws_instance.master.public_ip}:8089"
}

output "master_private_ip" {
  description = "Where the workers connect (port 5557)."
  value       = aws_instance.master.private_ip
}

output "worker_asg_name" {
  description = "Scale the fleet: aws autoscaling set-desired-capacity --auto-scaling-group-name <this> --desired-capacity N"
  value       = aws_autoscaling_group.workers.name
}
