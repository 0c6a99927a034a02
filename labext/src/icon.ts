// The glassbox icon: a box (the container) drawn as its three visible faces.
import { LabIcon } from '@jupyterlab/ui-components';

export const glassboxIcon = new LabIcon({
  name: 'glassbox:icon',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M3 7l9-4 9 4v10l-9 4-9-4V7zm2 1.3v7.4l6 2.7v-7.4L5 8.3zm14 0l-6 2.7v7.4l6-2.7V8.3zM12 5.2L6.6 7.6 12 10l5.4-2.4L12 5.2z"/></g></svg>'
});
